import { describe, expect, it } from 'vitest';
import pino from 'pino';
import type { OfferRequest, OfferResponse, RunOffer } from '@drover/shared';
import { makeOffer } from '../test/fixtures.js';
import { agentService, lateOffers, staleOffers } from './offers.js';

const stop = (afterMs: number) => makeOffer({ disconnect: { mode: 'stop', afterMs } });
const keep = () => makeOffer({ disconnect: { mode: 'keep', afterMs: 10_000 } });

describe('lateOffers', () => {
  it('names the stop offers whose disconnect.after the silence has reached, never keep ones or ones without a rule', () => {
    const offers = [stop(10_000), stop(45_000), keep(), makeOffer()];
    expect(lateOffers(offers, undefined)).toEqual([]);
    expect(lateOffers(offers, 9_999)).toEqual([]);
    expect(lateOffers(offers, 10_000)).toEqual([offers[0]]);
    expect(lateOffers(offers, 3_600_000)).toEqual([offers[0], offers[1]]);
  });
});

describe('agentService offer', () => {
  // A frozen agent (SIGSTOP) finds, once resumed, an offer that waited in its socket while the
  // coordinator took the run back and gave it to another agent: it must not start it.
  it('refuses an offer that came after its disconnect rule and passes the rest to the supervisor', async () => {
    const late = stop(10_000);
    const fresh = stop(45_000);
    const seen: RunOffer[][] = [];
    const service = agentService({
      agentId: 'agent-1',
      nodeId: 'node-1',
      identity: { checkFromCoordinator: () => 'unpinned', sign: () => undefined } as never,
      supervisor: {
        offer: (req: OfferRequest) => {
          seen.push(req.offers);
          return { accepted: req.offers.map((o) => o.runId), refused: [], capacity: {} } as unknown as Omit<OfferResponse, 'agentId'>;
        },
        stop: () => undefined,
      },
      registration: { active: true, busy: false, register: async () => undefined },
      lifecycle: { stopping: false },
      silentForMs: () => 25_000,
      log: pino({ level: 'silent' }),
    });
    const res = await service.offer({ offers: [late, fresh] }, 'coordinator-1');
    expect(seen).toEqual([[fresh]]);
    expect(res.accepted).toEqual([fresh.runId]);
    expect(res.refused).toEqual([
      { runId: late.runId, reason: expect.stringMatching(/heard no coordinator for 25\.0 s, past the job's disconnect.after \(10 s\)/) },
    ]);
  });

  // Signed with the pinned key, an offer is judged by its own time on the cluster clock, not by
  // what this agent heard: after a 25 s freeze, answers come before the offers sent during it.
  const signedService = (clusterNow: number, seen: RunOffer[][]) =>
    agentService({
      agentId: 'agent-1',
      nodeId: 'node-1',
      identity: { checkFromCoordinator: () => 'ok', clusterTime: () => clusterNow, sign: () => undefined } as never,
      supervisor: {
        offer: (req: OfferRequest) => {
          seen.push(req.offers);
          return { accepted: req.offers.map((o) => o.runId), refused: [], capacity: {} } as unknown as Omit<OfferResponse, 'agentId'>;
        },
        stop: () => undefined,
      },
      registration: { active: true, busy: false, register: async () => undefined },
      lifecycle: { stopping: false },
      // The silence already ended by answers: it would let a stale offer through.
      silentForMs: () => 390,
      log: pino({ level: 'silent' }),
    });
  const T = 1_800_000_000_000;
  const signed = (offers: RunOffer[], ts: number): OfferRequest =>
    ({ offers, answerWithinMs: 30_000, auth: { agentId: 'node-1', ts, nonce: 'n', sig: 's' } }) as OfferRequest;

  it('refuses a stop offer signed longer ago than its disconnect.after, whatever the agent heard since', async () => {
    const late = stop(10_000);
    const keeps = keep();
    const seen: RunOffer[][] = [];
    const res = await signedService(T, seen).offer(signed([late, keeps], T - 25_000), 'coordinator-1');
    expect(seen).toEqual([[keeps]]);
    expect(res.accepted).toEqual([keeps.runId]);
    expect(res.refused).toEqual([{ runId: late.runId, reason: expect.stringMatching(/the offer was sent 25\.0 s ago \(cluster clock\)/) }]);
  });

  it('refuses a stop offer signed longer ago than the offer timeout, even within disconnect.after', async () => {
    const long = stop(120_000);
    const seen: RunOffer[][] = [];
    const res = await signedService(T, seen).offer(signed([long], T - 31_000), 'coordinator-1');
    expect(seen).toEqual([[]]);
    expect(res.refused.map((r) => r.runId)).toEqual([long.runId]);
  });

  it('takes a freshly signed stop offer even right after a long silence', async () => {
    const fresh = stop(10_000);
    const seen: RunOffer[][] = [];
    const res = await signedService(T, seen).offer(signed([fresh], T - 200), 'coordinator-1');
    expect(seen).toEqual([[fresh]]);
    expect(res.accepted).toEqual([fresh.runId]);
    expect(res.refused).toEqual([]);
  });
});

describe('staleOffers', () => {
  it('names stop offers sent at least min(disconnect.after, offer timeout) ago, never keep ones', () => {
    const offers = [stop(10_000), stop(45_000), keep(), makeOffer()];
    expect(staleOffers(offers, 9_999, 30_000)).toEqual([]);
    expect(staleOffers(offers, 10_000, 30_000)).toEqual([offers[0]]);
    expect(staleOffers(offers, 30_000, 30_000)).toEqual([offers[0], offers[1]]);
    expect(staleOffers(offers, 30_000, undefined)).toEqual([offers[0]]);
  });
});
