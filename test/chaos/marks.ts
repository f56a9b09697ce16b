// What the chaos jobs leave behind: each execution appends `start <run> <attempt> <ns> <pid>` when it
// starts and `finished|stopped <run> <attempt> <ns>` when it ends (SIGTERM included, so an agent
// killed with -9 still leaves an end: its reaper sends SIGTERM to the attempt's group). Unlike
// test/support/executions.ts readExecutions, every start line is an execution of its own: a run
// started twice under one attempt number is two executions, which is exactly what the checker
// must see.
import { existsSync, readFileSync } from 'node:fs';
import { processGone } from '../support/runs.js';

export interface MarkedExecution {
  runId: string;
  attempt: number;
  /** The job's shell, when the marks carry it. */
  pid?: number;
  startMs: number;
  /** Undefined while it runs, or when nothing recorded its end (SIGKILL). */
  endMs?: number;
  /** `killed`: no end was marked, but its process was seen gone at endMs (it ended before). */
  how?: 'finished' | 'stopped' | 'killed';
}

/**
 * A job executor for chaos scenarios: marks its start, sleeps `seconds` (stopped cleanly by
 * SIGTERM), marks its end. Exec, not shell: agents need no --allow-shell for it.
 */
export function chaosExecutor(marks: string, seconds: number): { type: 'exec'; command: string[] } {
  const script = [
    'r=$DROVER_RUN_ID; a=$DROVER_ATTEMPT',
    `echo "start $r $a $(date +%s%N) $$" >> '${marks}'`,
    `trap 'echo "stopped $r $a $(date +%s%N)" >> '"'"'${marks}'"'"'; exit 143' TERM`,
    `sleep ${seconds} & wait $!`,
    `echo "finished $r $a $(date +%s%N)" >> '${marks}'`,
  ].join('\n');
  return { type: 'exec', command: ['sh', '-c', script] };
}

const toMs = (ns: string): number => Number(BigInt(ns) / 1_000_000n);

/** Executions from marks lines, in the order they started; an end closes the oldest open start of its run and attempt. */
export function parseMarks(lines: readonly string[]): MarkedExecution[] {
  const out: MarkedExecution[] = [];
  const open = new Map<string, MarkedExecution[]>();
  for (const line of lines) {
    const [what, runId, attempt, ns, pid] = line.trim().split(' ');
    if (!what || !runId || !attempt || !ns || !/^\d+$/.test(ns)) continue;
    const key = `${runId}:${attempt}`;
    if (what === 'start') {
      const e: MarkedExecution = { runId, attempt: Number(attempt), startMs: toMs(ns), ...(pid ? { pid: Number(pid) } : {}) };
      out.push(e);
      open.set(key, [...(open.get(key) ?? []), e]);
    } else if (what === 'finished' || what === 'stopped') {
      const e = open.get(key)?.shift();
      if (e) Object.assign(e, { endMs: toMs(ns), how: what });
    }
  }
  return out.sort((a, b) => a.startMs - b.startMs);
}

/** The executions recorded in a marks file ([] until it exists). */
export function readMarkedExecutions(file: string): MarkedExecution[] {
  return existsSync(file) ? parseMarks(readFileSync(file, 'utf8').split('\n')) : [];
}

/**
 * Watches the executions marked in `marks` that have not marked their end: the first time one's
 * process is seen gone (a SIGKILL leaves no end mark), the time is kept. stop() returns, by pid,
 * when each was seen gone: an upper bound of its end, within `intervalMs`.
 */
export function watchKilled(marks: string, intervalMs = 250): { stop(): Map<number, number> } {
  const goneAt = new Map<number, number>();
  const look = () => {
    const now = Date.now();
    for (const e of readMarkedExecutions(marks))
      if (e.endMs === undefined && e.pid !== undefined && !goneAt.has(e.pid) && processGone(e.pid)) goneAt.set(e.pid, now);
  };
  const timer = setInterval(look, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      look();
      return goneAt;
    },
  };
}

/** The executions with the ends `watchKilled` saw for those that marked none. */
export function withKilledEnds(executions: readonly MarkedExecution[], goneAt: ReadonlyMap<number, number>): MarkedExecution[] {
  return executions.map((e) => {
    const at = e.endMs === undefined && e.pid !== undefined ? goneAt.get(e.pid) : undefined;
    return at === undefined ? e : { ...e, endMs: at, how: 'killed' };
  });
}
