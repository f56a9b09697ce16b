// A job never outlives its agent. At start, before the agent registers, what a previous process
// of it left running is killed (leftover-attempts.ts); then a reaper is started (reaper.ts), and
// every attempt's process group is told to it and recorded in the state dir
// (attempt-records.ts) from the moment it is spawned until it is gone.
//
//   start ─▶ kill leftovers ─▶ reaper ─▶ register ─▶ attempts: spawned ─▶ watch + record … ended ─▶ forget
//                                          └─ the leftovers reported lost through the outbox
import type { AgentEvent, RunOffer } from '@drover/shared';
import { AttemptRecords } from './attempt-records.js';
import type { GroupWatch } from './executors/executor.js';
import { killLeftoverAttempts, lostAttemptEvents, type LeftoverAttempt } from './leftover-attempts.js';
import { Reaper } from './reaper.js';

/** Where the guard says what it found and what went wrong (the agent's logger). */
export interface AttemptGuardLog {
  warn(about: Record<string, unknown>, message: string): void;
  error(about: Record<string, unknown>, message: string): void;
}

/** The agent's side of "a job never outlives its agent". */
export interface AttemptGuard {
  /** The `watchGroups` of the process executors. */
  readonly watchGroups: (offer: RunOffer) => GroupWatch;
  /** The attempts a previous process of this agent left, their processes killed by now. */
  readonly leftovers: readonly LeftoverAttempt[];
  /** Queues the lost reports of the leftovers, then forgets their records (a crash in between reports them twice: the second is a harmless duplicate). */
  reportLeftovers(push: (event: AgentEvent) => void, now?: number): Promise<void>;
  /** Stops the reaper; call it last, once no attempt runs (what still does is killed). */
  close(): Promise<void>;
}

/** Kills what a previous process left (see leftover-attempts.ts), then starts the reaper. */
export async function startAttemptGuard(stateDir: string, log: AttemptGuardLog): Promise<AttemptGuard> {
  const records = await AttemptRecords.open(stateDir);
  const leftovers = await killLeftoverAttempts(records, { onWarning: (message) => log.warn({}, message) });
  if (leftovers.length > 0)
    log.warn(
      {
        attempts: leftovers.map((l) => ({ runId: l.record.runId, token: l.record.token, pgid: l.record.pgid, killed: l.killed })),
      },
      'a previous process of this agent left attempts behind: their processes were killed and they are reported lost',
    );
  for (const l of leftovers)
    if (l.problem)
      log.error({ runId: l.record.runId, pgid: l.record.pgid }, `${l.problem}; kill it by hand (kill -KILL -- -${l.record.pgid})`);
  const reaper = await Reaper.start({ onWarning: (message) => log.warn({}, message) });
  const trouble = (message: string, err: unknown, offer: RunOffer) =>
    log.warn({ runId: offer.runId, token: offer.token, err: (err as Error)?.message ?? String(err) }, message);
  return {
    leftovers,
    watchGroups: (offer) => ({
      spawned(pgid) {
        // The reaper first: one write to its pipe, and the agent's death can no longer leave the group behind.
        reaper.watch(pgid);
        try {
          records.spawned(offer, pgid);
        } catch (err) {
          // The reaper still guards the group; only an agent restarted after the reaper died too would miss it.
          trouble(`cannot record the process group of run ${offer.runId} in ${records.dir}`, err, offer);
        }
      },
      ended(pgid) {
        try {
          records.ended(offer.runId, offer.token);
        } catch (err) {
          trouble(`cannot remove the record of run ${offer.runId} from ${records.dir}`, err, offer);
        }
        reaper.unwatch(pgid);
      },
    }),
    async reportLeftovers(push, now = Date.now()) {
      for (const l of leftovers) for (const event of lostAttemptEvents(l.record, now)) push(event);
      for (const l of leftovers) await records.remove(l.record);
    },
    close: () => reaper.close(),
  };
}
