// The dispatcher end to end without processes (test/dispatch-harness.ts): real passes over
// PGlite and the in-memory queue, offers to a fake channel that answers as scripted.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseSecretsKey } from '../security/secrets-crypto.js';
import { startDispatchHarness, type DispatchHarness } from '../../test/dispatch-harness.js';

let h: DispatchHarness;

// Compiling PGlite's WebAssembly takes a second or two, far longer on a loaded machine.
beforeAll(async () => {
  h = await startDispatchHarness({ secretsKey: parseSecretsKey('11'.repeat(32)) });
}, 120_000);
afterAll(async () => h?.close());
beforeEach(async () => h.reset());

describe('the dispatcher, through the harness', () => {
  it('offers queued runs to the agent with free capacity, in one message', async () => {
    await h.addAgent('full', { slots: 0 });
    await h.addAgent('free', { slots: 2 });
    const jobId = await h.createJob();
    const runs = await h.trigger(jobId, 2);
    await h.until(() => expect(h.channel.offeredTo('free').sort()).toEqual([...runs].sort()));
    expect(h.channel.offers).toHaveLength(1);
    expect(h.channel.offeredTo('full')).toEqual([]);
    for (const id of runs) expect(await h.run(id)).toMatchObject({ state: 'offered', agentId: 'free', attempt: 1 });
    expect(await h.queue.depth()).toBe(0);
  });

  it('returns refused runs to the queue with the agent’s reason, and offers them again', async () => {
    await h.addAgent('picky', {}, { answer: 'refuse', reason: 'it is draining' });
    const [runId] = await h.trigger(await h.createJob());
    const back = await h.until(async () => {
      const t = (await h.transitions(runId as string)).find((x) => x.from === 'offered' && x.to === 'queued');
      expect(t).toBeDefined();
      return t;
    });
    expect(back?.reason).toBe('agent picky refused: it is draining');
    // Back in the queue: after the pause a refusal earns, the run is offered again.
    await h.until(() => expect(h.channel.offeredTo('picky').filter((id) => id === runId).length).toBeGreaterThanOrEqual(2));
  });

  it('leaves an unanswered offer of a `stop` job offered, and returns one of a `keep` job', async () => {
    await h.addAgent('silent', {}, { answer: 'silent' });
    const stopJob = await h.createJob({ disconnect: { mode: 'stop' } });
    const keepJob = await h.createJob({ disconnect: { mode: 'keep' } });
    // Queued together so that both go out in the one offer that is not answered.
    const [mayRun] = await h.queueRuns(stopJob);
    const [back] = await h.queueRuns(keepJob);
    h.dispatcher.kick();
    await h.until(async () => {
      const t = (await h.transitions(back as string)).find((x) => x.from === 'offered' && x.to === 'queued');
      expect(t?.reason).toMatch(/^agent silent did not answer the offer/);
    });
    expect(h.channel.offers[0]?.offers.map((o) => o.runId).sort()).toEqual([mayRun, back].sort());
    // It may have started on the agent: the reconciler, not the dispatcher, decides when it returns.
    expect(await h.run(mayRun as string)).toMatchObject({ state: 'offered', agentId: 'silent' });
    expect((await h.transitions(mayRun as string)).map((x) => x.to)).toEqual(['queued', 'offered']);
  });

  it('returns an offer that surely never reached the agent, even of a `stop` job', async () => {
    await h.addAgent('gone', {}, { answer: 'unreachable' });
    const [runId] = await h.trigger(await h.createJob({ disconnect: { mode: 'stop' } }));
    await h.until(async () => {
      const t = (await h.transitions(runId as string)).find((x) => x.from === 'offered' && x.to === 'queued');
      expect(t?.reason).toBe('agent gone did not answer the offer: agent-gone is not on the bus');
    });
  });

  it('cancels the queued runs of a job deleted meanwhile instead of offering them', async () => {
    await h.addAgent('idle', {});
    const jobId = await h.createJob();
    const runs = await h.queueRuns(jobId, 2);
    await h.deleteJob(jobId);
    h.dispatcher.kick();
    for (const id of runs) await h.until(async () => expect(await h.run(id)).toMatchObject({ state: 'cancelled', error: 'job deleted' }));
    expect(h.channel.offers).toEqual([]);
    expect(await h.queue.depth()).toBe(0);
  });

  it('lets a run whose secret is missing wait, queued, saying which secret', async () => {
    await h.addAgent('idle', {});
    const jobId = await h.createJob({ executor: { type: 'exec', command: ['true'], env: { TOKEN: { secret: 'api-token' } } } });
    const [runId] = await h.trigger(jobId);
    const run = await h.until(async () => {
      const r = await h.run(runId as string);
      expect(r.queueReason).not.toBeNull();
      return r;
    });
    expect(run).toMatchObject({ state: 'queued', agentId: null });
    expect(run.queueReason).toBe(
      'secret "api-token" (executor.env.TOKEN) does not exist in namespace "default": set it with PUT /v1/secrets/api-token',
    );
    expect(h.channel.offers).toEqual([]);
    expect(await h.queue.depth()).toBe(1);
  });

  it('claims nothing once the lease is no longer surely held, and offers as soon as it is', async () => {
    await h.addAgent('idle', {});
    h.lease.held = false;
    const [runId] = await h.trigger(await h.createJob());
    await h.until(() => expect(h.lease.asked).toBeGreaterThan(0));
    expect(await h.queue.depth()).toBe(1);
    expect(await h.run(runId as string)).toMatchObject({ state: 'queued' });
    expect(h.channel.offers).toEqual([]);

    h.lease.held = true;
    h.dispatcher.kick();
    await h.until(() => expect(h.channel.offeredTo('idle')).toEqual([runId]));
  });
});
