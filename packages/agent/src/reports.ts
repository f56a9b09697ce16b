// Reports: run events go to coordinators through the outbox, batched, signed and checked by the
// link; attempts a coordinator calls stale are stopped. The outbox keeps its events in the
// state dir's journal, so what no coordinator acknowledged survives a restart.
import type { Logger } from 'pino';
import type { AgentEvent, HeldRun } from '@drover/shared';
import { Outbox, type DropReason } from './outbox.js';
import type { JournalEntry, OutboxJournal } from './outbox-journal.js';
import { errorMessage } from './registration.js';
import type { Supervisor } from './supervisor.js';
import type { CoordinatorLink } from './transport.js';

/** Events within this window share a report (and one commit on the coordinator). */
const REPORT_LINGER_MS = 5;
/** At most this many dropped events are named in one log line. */
const NAMED_IN_LOG = 20;

/** A failure the outbox must retry, whatever the error it wraps says (e.g. a rejection no coordinator signed). */
class ReportNotDeliveredError extends Error {
  override name = 'ReportNotDeliveredError';
}

/** The outbox of this agent's run events, sending through `link`. */
export function reportOutbox(parts: {
  agentId: string;
  link: Pick<CoordinatorLink, 'ask'>;
  /** Stops an attempt the coordinator no longer assigns to this agent. */
  stopAttempt: Supervisor['stopAttempt'];
  /** Where events are kept across restarts, and what it read back at start. */
  journal?: { journal: OutboxJournal; replayed: readonly JournalEntry[]; maxBytes: number };
  /** Counts events dropped undelivered. */
  dropped?: (reason: DropReason, count: number) => void;
  log: Logger;
}): Outbox {
  const { agentId, link, log } = parts;
  const outbox: Outbox = new Outbox({
    lingerMs: REPORT_LINGER_MS,
    ...(parts.journal ? { journal: parts.journal.journal, replayed: parts.journal.replayed, maxDiskBytes: parts.journal.maxBytes } : {}),
    send: async (events: AgentEvent[]) => {
      const reply = await link.ask('report', { agentId, events });
      if (reply.status === 'answered') return reply.answer;
      // An answer not signed with the pinned key is not a coordinator's: the batch is not delivered
      // (sent again). Nor is a rejection so signed: only a coordinator's may make the outbox drop events.
      if (reply.status === 'ignored')
        throw new ReportNotDeliveredError(
          `the answer to a report is not signed with the cluster's key (${reply.check})${reply.err ? `: ${errorMessage(reply.err)}` : ''}; sending it again`,
        );
      throw reply.err;
    },
    onStale: (runs) => {
      log.warn({ runs }, 'the coordinator reports these attempts stale; stopping them');
      for (const run of runs)
        parts.stopAttempt(run, { outcome: 'cancelled', message: 'the coordinator no longer assigns this attempt to this agent' });
    },
    onError: (err, retryInMs) =>
      log.warn({ err: errorMessage(err), retryInMs, queued: outbox.size }, 'reporting run events failed; will retry'),
    onDropped: (events, reason, detail) => {
      parts.dropped?.(reason, events.length);
      const about = {
        reason,
        detail,
        count: events.length,
        events: events
          .slice(0, NAMED_IN_LOG)
          .map((e) => ({ runId: e.runId, token: e.token, kind: e.kind, ...(e.kind === 'log' ? { seq: e.seq } : {}) })),
      };
      if (reason === 'rejected')
        log.error(about, 'a coordinator rejected this run event for good; dropped it so the events after it go on');
      else log.warn(about, 'the outbox is over its bound (--outbox-max-bytes); dropped its oldest events');
    },
    onRejected: (rejected) =>
      log.warn({ rejected }, 'a coordinator could not apply these run events and recorded them on their runs; not sent again'),
  });
  return outbox;
}

/**
 * What this agent holds, as the coordinator must see it: attempts still running, and finished
 * ones whose result the outbox has not delivered yet (so they are not taken for lost).
 */
export function heldRuns(supervisor: Pick<Supervisor, 'held'>, outbox: Pick<Outbox, 'pendingAttempts'>): HeldRun[] {
  const all = new Map<string, HeldRun>();
  for (const h of [...supervisor.held(), ...outbox.pendingAttempts()]) all.set(`${h.runId}:${h.token}`, h);
  return [...all.values()];
}
