// Reports: run events go to coordinators through the outbox, batched, signed and checked by the
// link; attempts a coordinator calls stale are stopped.
import type { Logger } from 'pino';
import type { AgentEvent, HeldRun } from '@drover/shared';
import { Outbox } from './outbox.js';
import { errorMessage } from './registration.js';
import type { Supervisor } from './supervisor.js';
import type { CoordinatorLink } from './transport.js';

/** Events within this window share a report (and one commit on the coordinator). */
const REPORT_LINGER_MS = 5;

/** The outbox of this agent's run events, sending through `link`. */
export function reportOutbox(parts: {
  agentId: string;
  link: Pick<CoordinatorLink, 'ask'>;
  /** Stops an attempt the coordinator no longer assigns to this agent. */
  stopAttempt: Supervisor['stopAttempt'];
  log: Logger;
}): Outbox {
  const { agentId, link, log } = parts;
  const outbox: Outbox = new Outbox({
    lingerMs: REPORT_LINGER_MS,
    send: async (events: AgentEvent[]) => {
      const reply = await link.ask('report', { agentId, events });
      if (reply.status === 'answered') return reply.answer;
      // An answer not signed with the pinned key is not a coordinator's: the batch is not delivered (sent again).
      if (reply.status === 'ignored' && reply.err === undefined)
        throw new Error(`the answer to a report is not signed with the cluster's key (${reply.check}); sending it again`);
      throw reply.err;
    },
    onStale: (runs) => {
      log.warn({ runs }, 'the coordinator reports these attempts stale; stopping them');
      for (const run of runs)
        parts.stopAttempt(run, { outcome: 'cancelled', message: 'the coordinator no longer assigns this attempt to this agent' });
    },
    onError: (err, retryInMs) =>
      log.warn({ err: errorMessage(err), retryInMs, queued: outbox.size }, 'reporting run events failed; will retry'),
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
