import { describe, expect, it } from 'vitest';
import pino from 'pino';
import type { OfferRequest, OfferResponse, RunOffer } from '@drover/shared';
import { makeOffer } from '../test/fixtures.js';
import { agentService, lateOffers } from './offers.js';

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
});
