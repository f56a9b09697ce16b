// The heartbeat against a fake link: what its answers make the agent do, and what they must not.
import { describe, expect, it } from 'vitest';
import type { HeartbeatResponse } from '@drover/shared';
import { FakeLink, recordingLogger, refusal } from '../test/fake-link.js';
import { Cadence, Heartbeat } from './heartbeat.js';
import { Lifecycle } from './shutdown.js';

function setup() {
  const link = new FakeLink();
  const { log, lines } = recordingLogger();
  const seen = { registers: 0, refusals: [] as unknown[], withdrawn: [] as unknown[], failed: 0, acknowledged: 0 };
  const registration = {
    active: true,
    busy: false,
    register: async () => {
      seen.registers++;
    },
    refused: async (err: unknown): Promise<'rejoin' | 'stopped'> => {
      seen.refusals.push(err);
      return registration.verdict;
    },
    verdict: 'stopped' as 'rejoin' | 'stopped',
  };
  const free = { slots: 2, cpu: 2, memoryBytes: 1024 };
  const cadence = new Cadence(1_000);
  const lifecycle = new Lifecycle();
  const heartbeat = new Heartbeat({
    agentId: 'A',
    nodeId: 'agent-A',
    link,
    registration,
    capacity: () => ({ agentId: 'A', version: 0, free }),
    usage: () => ({ cpuPercent: 0, load1: 0, memoryUsedBytes: 0, slotsUsed: 0 }),
    held: () => [{ runId: 'r1', token: 1 }],
    cadence,
    lifecycle,
    metrics: { heartbeatSent: () => undefined, acknowledged: () => seen.acknowledged++, heartbeatFailed: () => seen.failed++ },
    stopWithdrawn: (runs) => {
      if (runs && runs.length > 0) seen.withdrawn.push(...runs);
    },
    log,
  });
  return { link, heartbeat, seen, registration, cadence, lifecycle, lines };
}

const answered = (answer: HeartbeatResponse) => () => ({ status: 'answered' as const, answer });

describe('heartbeat', () => {
  it('sends what the agent has free and holds, and broadcasts its capacity with it', async () => {
    const { link, heartbeat, lifecycle } = setup();
    link.script.heartbeat = answered({ known: true, stop: [] });
    await heartbeat.beat();
    lifecycle.stopping = true;
    await heartbeat.beat();
    const [first, second] = link.requests('heartbeat');
    expect(first).toMatchObject({ agentId: 'A', nodeId: 'agent-A', free: { slots: 2 }, runs: [{ runId: 'r1', token: 1 }] });
    expect(first?.draining).toBeUndefined();
    expect(second?.draining).toBe(true);
    expect(link.broadcasts).toHaveLength(2);
  });

  it('registers again when the coordinator answers that it does not know this agent', async () => {
    const { link, heartbeat, seen } = setup();
    link.script.heartbeat = answered({ known: false, stop: [{ runId: 'r1', token: 1 }] });
    await heartbeat.beat();
    expect(seen.registers).toBe(1);
    expect(seen.withdrawn).toEqual([]);
  });

  it('adopts the interval and stops the runs a signed answer names', async () => {
    const { link, heartbeat, seen, cadence } = setup();
    link.script.heartbeat = answered({ known: true, stop: [{ runId: 'r1', token: 1 }], heartbeatIntervalMs: 300 });
    await heartbeat.beat();
    expect(cadence.intervalMs).toBe(300);
    expect(seen.withdrawn).toEqual([{ runId: 'r1', token: 1 }]);
    expect(heartbeat.lastHeardAt).toBeTypeOf('number');
  });

  it('ignores an answer not signed with the pinned key: no re-registration, no stop, not heard from', async () => {
    const { link, heartbeat, seen, cadence } = setup();
    link.script.heartbeat = () => ({ status: 'ignored', check: 'missing', from: 'rogue' });
    await heartbeat.beat();
    expect(seen.registers).toBe(0);
    expect(seen.withdrawn).toEqual([]);
    expect(cadence.intervalMs).toBe(1_000);
    expect(heartbeat.lastHeardAt).toBeUndefined();
    expect(heartbeat.failing).toBe(false);
    expect(seen.failed).toBe(0);
  });

  it('an ignored refusal and a failure count as failed beats, said once; a signed answer ends that', async () => {
    const { link, heartbeat, seen, lines } = setup();
    link.script.heartbeat = () => ({ status: 'ignored', check: 'missing', from: 'rogue', err: refusal('AGENT_REVOKED', 403) });
    await heartbeat.beat();
    link.script.heartbeat = () => ({ status: 'failed', err: new Error('Request timed out') });
    await heartbeat.beat();
    expect(heartbeat.failing).toBe(true);
    expect(seen.failed).toBe(2);
    expect(seen.refusals).toEqual([]);
    expect(lines.filter((l) => l.msg === 'heartbeat failed; will keep trying')).toHaveLength(1);
    link.script.heartbeat = answered({ known: true, stop: [] });
    await heartbeat.beat();
    expect(heartbeat.failing).toBe(false);
    expect(lines.some((l) => l.msg === 'heartbeats are answered again')).toBe(true);
  });

  it('hands a signed identity refusal to the registration, registering again when it says re-join', async () => {
    const { link, heartbeat, seen, registration } = setup();
    link.script.heartbeat = () => ({ status: 'refused', err: refusal('AGENT_NOT_JOINED') });
    registration.verdict = 'rejoin';
    await heartbeat.beat();
    expect(seen.refusals).toHaveLength(1);
    expect(seen.registers).toBe(1);
    registration.verdict = 'stopped';
    await heartbeat.beat();
    expect(seen.refusals).toHaveLength(2);
    expect(seen.registers).toBe(1);
  });

  it('a signed refusal that is not about identity is only a failed beat', async () => {
    const { link, heartbeat, seen } = setup();
    link.script.heartbeat = () => ({ status: 'refused', err: refusal('VALIDATION_ERROR', 422) });
    await heartbeat.beat();
    expect(seen.refusals).toEqual([]);
    expect(heartbeat.failing).toBe(true);
  });

  it('does not beat before the first registration or while one is in progress', async () => {
    const { link, heartbeat, registration } = setup();
    registration.active = false;
    await heartbeat.beat();
    registration.active = true;
    registration.busy = true;
    await heartbeat.beat();
    expect(link.asked).toEqual([]);
  });

  it('beats every interval between start and stop', async () => {
    const { link, heartbeat, cadence } = setup();
    link.script.heartbeat = answered({ known: true, stop: [] });
    cadence.intervalMs = 20;
    heartbeat.start();
    while (link.requests('heartbeat').length < 3) await new Promise((r) => setTimeout(r, 10));
    heartbeat.stop();
    const sent = link.requests('heartbeat').length;
    await new Promise((r) => setTimeout(r, 100));
    expect(link.requests('heartbeat').length).toBe(sent);
  });
});
