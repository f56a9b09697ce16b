// Registration against a fake link: retried until a coordinator answers, answers not signed
// with the pinned key never acted on, one re-join when the coordinators lost this agent's key,
// and a refusal that stops the agent.
import { describe, expect, it } from 'vitest';
import type { RegisterResponse } from '@drover/shared';
import { FakeLink, recordingLogger, refusal } from '../test/fake-link.js';
import { Cadence } from './heartbeat.js';
import { Registrar, RegistrationRefusedError, type RegistrarParts } from './registrar.js';
import { Lifecycle } from './shutdown.js';
import type { Reply } from './transport.js';

const ANSWER: RegisterResponse = { agentId: 'A', heartbeatIntervalMs: 200, stop: [{ runId: 'r1', token: 3 }] };

function setup(overrides: Partial<RegistrarParts> = {}, identity: { joined?: boolean } = {}) {
  const link = new FakeLink();
  const { log, lines } = recordingLogger();
  const seen = { refused: [] as RegistrationRefusedError[], withdrawn: [] as unknown[], acknowledged: 0, discarded: 0, joins: 0 };
  const id = {
    joined: identity.joined ?? false,
    coordinatorKeyPinned: true,
    markJoined: async () => {
      seen.joins++;
      id.joined = true;
    },
    pinCoordinatorKey: async () => undefined,
    discard: async () => {
      seen.discarded++;
    },
  };
  const cadence = new Cadence(1_000);
  const lifecycle = new Lifecycle();
  const registrar = new Registrar({
    link,
    identity: id,
    joinToken: undefined,
    stateDir: '/state',
    request: () => ({
      protocol: 1,
      agentId: 'A',
      nodeId: 'agent-A',
      name: 'host',
      version: 'test',
      attributes: {},
      labels: {},
      executors: ['noop'],
      total: { slots: 1, cpu: 1, memoryBytes: 1 },
      free: { slots: 1, cpu: 1, memoryBytes: 1 },
      runs: [],
      publicKey: 'pk',
    }),
    cadence,
    lifecycle,
    acknowledged: () => seen.acknowledged++,
    stopWithdrawn: (runs) => {
      if (runs && runs.length > 0) seen.withdrawn.push(...runs);
    },
    onRefused: (err) => {
      seen.refused.push(err);
      lifecycle.stopping = true;
    },
    log,
    ...overrides,
  });
  return { link, registrar, seen, cadence, lifecycle, lines, id };
}

/** Replies in order, the last one repeated. */
function inTurn<T>(...replies: Array<Reply<T>>): () => Reply<T> {
  let i = 0;
  return () => replies[Math.min(i++, replies.length - 1)] as Reply<T>;
}

describe('registrar', () => {
  it('retries until a coordinator answers, and never acts on an answer not signed with the pinned key', async () => {
    const { link, registrar, seen, cadence, lines } = setup();
    link.script.register = inTurn<RegisterResponse>(
      { status: 'failed', err: new Error('Request timed out') },
      { status: 'ignored', check: 'bad-signature', from: 'rogue' },
      { status: 'answered', answer: ANSWER },
    );
    await registrar.register();
    await registrar.registered;
    expect(link.requests('register')).toHaveLength(3);
    // Only the signed answer counted: one acknowledgement, its interval and its stop list.
    expect(seen.acknowledged).toBe(1);
    expect(cadence.intervalMs).toBe(200);
    expect(seen.withdrawn).toEqual([{ runId: 'r1', token: 3 }]);
    expect(registrar.active).toBe(true);
    expect(lines.filter((l) => l.msg === 'registration failed; will retry').map((l) => l.err)).toEqual([
      'Request timed out',
      "the answer to the registration is not signed with the cluster's key (bad-signature)",
    ]);
  });

  it('waits while no coordinator is on the bus, asking nothing', async () => {
    const { link, registrar, lines } = setup();
    link.onBus = false;
    link.script.register = () => ({ status: 'answered', answer: ANSWER });
    const registering = registrar.register();
    await new Promise((r) => setTimeout(r, 600));
    expect(link.asked).toHaveLength(0);
    expect(registrar.busy).toBe(true);
    expect(lines.filter((l) => String(l.msg).startsWith('waiting for a coordinator'))).toHaveLength(1);
    link.onBus = true;
    await registering;
    expect(link.asked).toHaveLength(1);
    expect(registrar.busy).toBe(false);
  });

  it('stops the agent on a refusal: `registered` rejects naming the reason, nothing more is asked', async () => {
    const { link, registrar, seen } = setup();
    link.script.register = () => ({ status: 'refused', err: refusal('PROTOCOL_MISMATCH', 426) });
    await registrar.register();
    await expect(registrar.registered).rejects.toThrow('a coordinator refused this agent: refused: PROTOCOL_MISMATCH');
    expect(seen.refused).toHaveLength(1);
    expect(seen.refused[0]).toBeInstanceOf(RegistrationRefusedError);
    expect(link.asked).toHaveLength(1);
    expect(registrar.active).toBe(false);
  });

  it('joins again once with the join token when the coordinators lost its key, then stops if still refused', async () => {
    const { link, registrar, seen } = setup({ joinToken: 'drv_token' }, { joined: true });
    link.script.register = () => ({ status: 'refused', err: refusal('AGENT_NOT_JOINED') });
    await registrar.register();
    const sent = link.requests('register');
    expect(sent.map((r) => r.join?.token)).toEqual([undefined, 'drv_token']);
    expect(seen.refused).toHaveLength(1);
    expect(seen.refused[0]?.message).toMatch(/drover tokens create --role agent/);
  });

  it('a re-join that is answered marks the agent joined and registers it', async () => {
    const { link, registrar, seen } = setup({ joinToken: 'drv_token' }, { joined: true });
    link.script.register = inTurn<RegisterResponse>(
      { status: 'refused', err: refusal('AGENT_IDENTITY_REQUIRED') },
      { status: 'answered', answer: ANSWER },
    );
    await registrar.register();
    await registrar.registered;
    expect(link.requests('register').map((r) => r.join?.token)).toEqual([undefined, 'drv_token']);
    expect(seen.joins).toBe(1);
    expect(seen.refused).toHaveLength(0);
  });

  it('without a join token, a lost key is a refusal; a revocation drops the key', async () => {
    const lost = setup({}, { joined: true });
    expect(await lost.registrar.refused(refusal('AGENT_NOT_JOINED'))).toBe('stopped');
    const revoked = setup({ joinToken: 'drv_token' }, { joined: true });
    expect(await revoked.registrar.refused(refusal('AGENT_REVOKED', 403))).toBe('stopped');
    expect(revoked.seen.discarded).toBe(1);
    await expect(revoked.registrar.registered).rejects.toMatchObject({ code: 'REGISTRATION_REFUSED' });
  });

  it('a registration asked for while one is in progress joins it', async () => {
    const { link, registrar } = setup();
    let answer: (() => void) | undefined;
    const gate = new Promise<void>((r) => (answer = r));
    link.script.register = () => ({ status: 'answered', answer: ANSWER });
    const ask = link.ask.bind(link);
    link.ask = async (kind, req) => {
      await gate;
      return ask(kind, req);
    };
    const first = registrar.register();
    const second = registrar.register();
    expect(second).toBe(first);
    answer?.();
    await first;
    expect(link.asked).toHaveLength(1);
  });
});
