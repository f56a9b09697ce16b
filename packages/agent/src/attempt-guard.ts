// A job never outlives its agent. At start, before the agent registers, what a previous process
// of it left running is killed (leftover-attempts.ts); then a reaper is started (reaper.ts), and
// every attempt's process group is told to it and recorded in the state dir
// (attempt-records.ts) from the moment it is spawned until it is gone.
//
//   start ─▶ kill leftovers ─▶ reaper ─▶ register ─▶ attempts: spawned ─▶ watch + record … ended ─▶ unwatch
//                                          │                       result on disk (outbox) ─▶ settled ─▶ forget the record
//                                          └─ the leftovers reported lost through the outbox, unless their result is there
//
// The record outlives the process group until the attempt's result is durable in the outbox:
// a crash in between then finds the record and the result, and the result wins. Removed
// earlier, such a crash would find neither, and the coordinator would retry a run that had
// finished (executed twice).
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
  /**
   * Queues the lost reports of the leftovers whose result `hasResult` does not already hold, then
   * forgets their records (a crash in between reports them twice: the second is a harmless duplicate).
   */
  reportLeftovers(push: (event: AgentEvent) => void, hasResult: (runId: string, token: number) => boolean, now?: number): Promise<void>;
  /** Forgets an attempt's record, once its result is on disk. */
  settled(runId: string, token: number): void;
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
        reaper.unwatch(pgid);
      },
    }),
    async reportLeftovers(push, hasResult, now = Date.now()) {
      for (const l of leftovers)
        if (l.killed > 0 || !hasResult(l.record.runId, l.record.token)) for (const event of lostAttemptEvents(l.record, now)) push(event);
      for (const l of leftovers) await records.remove(l.record);
    },
    settled(runId, token) {
      try {
        records.ended(runId, token);
      } catch (err) {
        log.warn(
          { runId, token, err: (err as Error)?.message ?? String(err) },
          `cannot remove the record of run ${runId} from ${records.dir}`,
        );
      }
    },
    close: () => reaper.close(),
  };
}
