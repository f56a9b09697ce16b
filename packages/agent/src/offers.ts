// What coordinators send this agent: offers of attempts to run, and requests to stop some. Both
// count only when signed with the pinned cluster key (or none is pinned).
import type { Logger } from 'pino';
import type { HeldRun, OfferRequest, OfferResponse, RunOffer } from '@drover/shared';
import { RECENT_SILENCE_MS } from './disconnect-watchdog.js';
import type { AgentIdentity } from './identity.js';
import type { Registrar } from './registrar.js';
import type { Lifecycle } from './shutdown.js';
import type { Supervisor } from './supervisor.js';
import type { AgentService } from './transport.js';

/** What offer and stop handling need from the rest of the agent. */
export interface OfferParts {
  agentId: string;
  nodeId: string;
  identity: Pick<AgentIdentity, 'checkFromCoordinator' | 'clusterTime' | 'sign'>;
  supervisor: Pick<Supervisor, 'offer' | 'stop'>;
  registration: Pick<Registrar, 'active' | 'busy' | 'register'>;
  lifecycle: Pick<Lifecycle, 'stopping'>;
  /**
   * How long the agent has heard no coordinator, or had not until a moment ago (the disconnect
   * watchdog's recentSilenceMs(OFFER_BACKLOG_MS)); undefined before the first answer. Judges
   * only offers not signed with a pinned cluster key: a signed one is judged by its own time.
   */
  silentForMs: () => number | undefined;
  log: Logger;
}

/**
 * How long after a silence ends offers are still judged by it: what was sent during it is read
 * in a burst once the agent runs again, some after the first answer (measured: within 0.5 s).
 */
export const OFFER_BACKLOG_MS = RECENT_SILENCE_MS;

/**
 * Offers that arrive after the agent has been cut off past their job's `disconnect.after`
 * (`stop`): an offer that waited in a frozen or cut-off agent's socket while the coordinator,
 * hearing nothing, took the run back and gave it to another agent. The disconnect watchdog
 * would stop such an attempt at once; started, it would still be a second execution of the run.
 */
export function lateOffers(offers: readonly RunOffer[], silentForMs: number | undefined): RunOffer[] {
  if (silentForMs === undefined) return [];
  return offers.filter((o) => o?.disconnect?.mode === 'stop' && silentForMs >= o.disconnect.afterMs);
}

/**
 * The stop offers of a request signed `sentAgoMs` ago (on the cluster clock) that are too old to
 * start: past their `disconnect.after`, or past the coordinator's offer timeout
 * (`answerWithinMs`), whichever is shorter. By then the coordinator may have taken the run back
 * and given it to another agent. Unlike the silence heard here, this holds however long the
 * offer waited in the agent's socket, and wrongly refuses no fresh offer after a silence.
 */
export function staleOffers(offers: readonly RunOffer[], sentAgoMs: number, answerWithinMs: unknown): RunOffer[] {
  const timeout = typeof answerWithinMs === 'number' && answerWithinMs > 0 ? answerWithinMs : Infinity;
  return offers.filter((o) => o?.disconnect?.mode === 'stop' && sentAgoMs >= Math.min(o.disconnect.afterMs, timeout));
}

/** The agent's own service: takes offers, stops runs, registers again with a coordinator that (re)joined the bus. */
export function agentService(parts: OfferParts): AgentService {
  const { agentId, nodeId, identity, supervisor, registration, lifecycle, silentForMs, log } = parts;
  return {
    async offer(req, from) {
      const check = identity.checkFromCoordinator('offer', nodeId, req);
      if (check !== 'ok' && check !== 'unpinned') {
        log.warn({ from, check, runs: req?.offers?.map((o) => o.runId) }, 'refused an offer not signed with the cluster key');
        throw new Error(`offer refused: not signed with the cluster's key (${check})`);
      }
      const offers = Array.isArray(req?.offers) ? req.offers : [];
      const sentAt = req?.auth?.ts;
      let late: RunOffer[];
      let refusedLate: Array<{ runId: string; reason: string }>;
      if (check === 'ok' && typeof sentAt === 'number') {
        // Signed with the pinned key: its time is the coordinator's, on the cluster clock.
        const sentAgo = identity.clusterTime(Date.now()) - sentAt;
        late = staleOffers(offers, sentAgo, req.answerWithinMs);
        refusedLate = late.map((o) => ({
          runId: o.runId,
          reason:
            `the offer was sent ${(sentAgo / 1000).toFixed(1)} s ago (cluster clock), past the job's disconnect.after ` +
            `(${(o.disconnect?.afterMs ?? 0) / 1000} s) or the coordinator's offer timeout` +
            `${typeof req.answerWithinMs === 'number' ? ` (${req.answerWithinMs / 1000} s)` : ''}: the run may already have been given to another agent`,
        }));
        if (late.length > 0)
          log.warn(
            { runs: late.map((o) => o.runId), sentAgoMs: sentAgo, answerWithinMs: req.answerWithinMs },
            'refused offers signed longer ago than their disconnect.after or the offer timeout',
          );
      } else {
        // Unsigned: judged by how long this agent heard no coordinator, or had not until just now.
        const silence = silentForMs();
        late = lateOffers(offers, silence);
        refusedLate = late.map((o) => ({
          runId: o.runId,
          reason:
            `this agent heard no coordinator for ${((silence ?? 0) / 1000).toFixed(1)} s, past the job's disconnect.after ` +
            `(${(o.disconnect?.afterMs ?? 0) / 1000} s): the run may already have been given to another agent`,
        }));
        if (late.length > 0)
          log.warn({ runs: late.map((o) => o.runId), silentForMs: silence }, 'refused offers that came after the disconnect rule');
      }
      const forSupervisor: OfferRequest = late.length > 0 ? { ...req, offers: offers.filter((o) => !late.includes(o)) } : req;
      const answer = await supervisor.offer(forSupervisor);
      const res: OfferResponse = { ...answer, refused: [...refusedLate, ...answer.refused], agentId };
      res.auth = identity.sign('offer-reply', agentId, res);
      return res;
    },
    stop(req, from) {
      const check = identity.checkFromCoordinator('stop', nodeId, req);
      if (check !== 'ok' && check !== 'unpinned') {
        log.warn({ from, check, runs: req?.runs }, 'ignored a stop request not signed with the cluster key');
        return { ok: false };
      }
      supervisor.stop(req);
      return { ok: true };
    },
    coordinatorConnected(coordinator) {
      // A coordinator (re)joined: it may have lost track of us. During a registration in progress there is nothing to add.
      if (registration.active && !lifecycle.stopping && !registration.busy) {
        log.info({ coordinator }, 'a coordinator connected; registering again');
        void registration.register();
      }
    },
  };
}

/**
 * Returns what stops the attempts a coordinator's answer (to a registration or heartbeat) names
 * as no longer this agent's.
 */
export function withdrawnRunsStopper(supervisor: Pick<Supervisor, 'held' | 'stop'>, log: Logger): (runs: HeldRun[] | undefined) => void {
  const why = 'the coordinator no longer assigns these runs to this agent; stopping them';
  return (runs) => {
    if (!runs || runs.length === 0) return;
    // A heartbeat also names attempts that ended but whose report is still on its way; the
    // coordinator may have applied that report in between and then names them here. Nothing
    // of them is left to stop.
    const running = new Set(supervisor.held().map((h) => `${h.runId}:${h.token}`));
    const toStop = runs.filter((r) => running.has(`${r.runId}:${r.token}`));
    if (toStop.length < runs.length) log.debug({ runs: runs.filter((r) => !toStop.includes(r)) }, 'already ended; nothing to stop');
    if (toStop.length === 0) return;
    log.warn({ runs: toStop }, why);
    supervisor.stop({ runs: toStop, reason: why });
  };
}
