// What a previous process of this agent left running: on start, before it registers, the agent
// kills the process groups its attempt records name (attempt-records.ts) and reports those
// attempts lost. Normally the reaper killed them already when that process died; these are what
// is left when the reaper died too (killed with it, OOM) or was never told (the agent died
// within the spawn itself).
//
// A record's group is killed only when it is provably the attempt's: the leader still runs
// with the start time recorded (so a pid reused since is left alone), or, the leader being gone,
// a member of the group carries the attempt's DROVER_RUN_ID and DROVER_ATTEMPT in its
// environment. After a reboot (another boot id) nothing a record names can still run.
//
// Why the attempts are reported by the agent (a `finished` event with outcome `lost`) rather than
// left out of the runs it holds for the coordinator to lose: the run's history then says what
// happened ("the agent restarted…; its processes were killed", at the time it was found) instead
// of "the agent no longer holds the run", and the report also reaches a coordinator that had
// already lost the runs (it is fenced there, harmlessly).
import { readdir, readFile } from 'node:fs/promises';
import type { AgentEvent } from '@drover/shared';
import { bootId, type AttemptRecord, type AttemptRecords } from './attempt-records.js';
import { ProcessGroup, readStat, signalGroup, type ProcStat } from './executors/process-group.js';
import { REAPER_GRACE_MS } from './reaper.js';

/** The error of an attempt found left over at start. */
export const LEFTOVER_LOST_ERROR = 'the agent restarted while the attempt ran; its processes were killed';
/** How long a SIGKILLed group may take to disappear before the agent starts anyway (a process stuck in the kernel). */
const KILLED_GONE_MS = 5_000;

/** An attempt a previous process of the agent left, and how many of its processes were still running. */
export interface LeftoverAttempt {
  record: AttemptRecord;
  /** Processes of the attempt found running and killed now (0: the reaper had killed them). */
  killed: number;
  /** Set when its group could not be killed (still running after SIGKILL, or no /proc to tell it is ours). */
  problem?: string;
}

interface Proc extends ProcStat {
  pid: number;
}

async function processes(): Promise<Proc[]> {
  let names: string[];
  try {
    names = await readdir('/proc');
  } catch {
    return [];
  }
  const all = await Promise.all(
    names.filter((n) => /^\d+$/.test(n)).map(async (n) => ({ pid: Number(n), stat: await readStat(Number(n)) })),
  );
  return all.flatMap(({ pid, stat }) => (stat ? [{ pid, ...stat }] : []));
}

async function carriesAttempt(pid: number, record: AttemptRecord): Promise<boolean> {
  const env = await readFile(`/proc/${pid}/environ`, 'latin1').catch(() => '');
  const vars = new Set(env.split('\0'));
  return vars.has(`DROVER_RUN_ID=${record.runId}`) && vars.has(`DROVER_ATTEMPT=${record.attempt}`);
}

/** The running members of the record's group when they are provably its attempt's; else none. */
async function membersOf(record: AttemptRecord, procs: readonly Proc[], boot: string | null): Promise<Proc[]> {
  if (record.bootId !== null && boot !== null && record.bootId !== boot) return [];
  const members = procs.filter((p) => p.pgrp === record.pgid && !p.zombie);
  if (members.length === 0) return [];
  const leader = procs.find((p) => p.pid === record.pgid);
  if (leader) return record.startTime !== null && leader.startTime === record.startTime ? members : [];
  for (const m of members) if (await carriesAttempt(m.pid, record)) return members;
  return [];
}

/**
 * Kills what the attempt records of this state dir name and still runs (SIGTERM, SIGKILL after
 * `graceMs`), waits until it is gone, and returns every recorded attempt: each is to be
 * reported lost and its record removed (`AttemptRecords.remove`) once the report is queued.
 */
export async function killLeftoverAttempts(
  records: AttemptRecords,
  opts: { graceMs?: number; onWarning?: (message: string) => void } = {},
): Promise<LeftoverAttempt[]> {
  const { records: found, unreadable } = await records.list();
  for (const name of unreadable) {
    opts.onWarning?.(`${records.dir}/${name} holds no attempt record (a write cut short); removed`);
    await records.discard(name);
  }
  if (found.length === 0) return [];
  const procs = await processes();
  const boot = bootId();
  const leftovers = await Promise.all(
    found.map(async (record) => {
      const members = await membersOf(record, procs, boot);
      const leftover: LeftoverAttempt = { record, killed: members.length };
      if (record.startTime === null && procs.some((p) => p.pgrp === record.pgid))
        leftover.problem = `process group ${record.pgid} runs, but without /proc the agent cannot tell it is this attempt's; it was left alone`;
      return leftover;
    }),
  );
  const groups = leftovers.filter((l) => l.killed > 0).map((l) => new ProcessGroup(l.record.pgid));
  if (groups.length === 0) return leftovers;
  for (const g of groups) signalGroup(g.pgid, 'SIGTERM');
  await Promise.all(
    groups.map(async (g) => {
      if (await g.gone(opts.graceMs ?? REAPER_GRACE_MS)) return;
      signalGroup(g.pgid, 'SIGKILL');
      if (await g.gone(KILLED_GONE_MS)) return;
      const l = leftovers.find((x) => x.record.pgid === g.pgid);
      if (l) l.problem = `process group ${g.pgid} still runs ${KILLED_GONE_MS} ms after SIGKILL (stuck in the kernel?)`;
    }),
  );
  return leftovers;
}

/** The events that report a leftover attempt lost: its start (a resend when the coordinator saw it), then its end. */
export function lostAttemptEvents(record: AttemptRecord, now: number): AgentEvent[] {
  const { runId, token, jobId } = record;
  return [
    { kind: 'started', runId, token, at: record.startedAt },
    {
      kind: 'finished',
      runId,
      jobId,
      token,
      at: now,
      outcome: 'lost',
      exitCode: null,
      signal: null,
      error: LEFTOVER_LOST_ERROR,
      durationMs: Math.max(0, now - record.startedAt),
      cpuTimeMs: null,
      peakMemoryBytes: null,
      httpStatus: null,
      outputBytes: 0,
      droppedBytes: 0,
      lastLines: [],
    },
  ];
}
