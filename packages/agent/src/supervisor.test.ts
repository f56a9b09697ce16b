import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AgentEvent, CapacityEvent, FinishedEvent, LogEvent, RunOffer } from '@drover/shared';
import { describe, expect, it } from 'vitest';
import { createExecutors } from './executors/index.js';
import { truncationMarker } from './output-limit.js';
import { Supervisor, type AttemptHooks } from './supervisor.js';
import { eventually, makeOffer, processGone } from '../test/fixtures.js';

const GiB = 2 ** 30;

function supervisor(
  opts: {
    allowShell?: boolean;
    allowHttp?: boolean;
    slots?: number;
    cpu?: number;
    memoryBytes?: number;
    hooks?: AttemptHooks;
    killGraceMs?: number;
  } = {},
) {
  const events: AgentEvent[] = [];
  const capacity: CapacityEvent[] = [];
  const s = new Supervisor({
    agentId: 'AGENT',
    total: { slots: opts.slots ?? 4, cpu: opts.cpu ?? 4, memoryBytes: opts.memoryBytes ?? 8 * GiB },
    executors: createExecutors({
      allowShell: opts.allowShell ?? false,
      allowHttp: opts.allowHttp ?? true,
      killGraceMs: opts.killGraceMs ?? 2_000,
    }),
    emit: (e) => events.push(e),
    onCapacity: (c) => capacity.push(c),
    hooks: opts.hooks,
  });
  const finished = (runId: string) => events.find((e): e is FinishedEvent => e.kind === 'finished' && e.runId === runId);
  return { s, events, capacity, finished };
}

const sleeping = (resources: Partial<RunOffer['resources']> = {}, extra: Partial<RunOffer> = {}) =>
  makeOffer({ executor: { type: 'noop', sleep: '60s' }, resources: { cpu: 0, memoryBytes: 0, ...resources }, ...extra });

describe('Supervisor offers', () => {
  const table: Array<{
    name: string;
    held: Array<Partial<RunOffer['resources']>>;
    offer: Partial<RunOffer['resources']>;
    slots?: number;
    refused?: string;
  }> = [
    { name: 'fits an empty agent', held: [], offer: { cpu: 2, memoryBytes: 4 * GiB } },
    { name: 'fits exactly what is left', held: [{ cpu: 3, memoryBytes: 6 * GiB }], offer: { cpu: 1, memoryBytes: 2 * GiB } },
    { name: 'fractional CPU adds up', held: [{ cpu: 0.1 }, { cpu: 0.2 }], offer: { cpu: 3.7 } },
    { name: 'too much CPU', held: [{ cpu: 3 }], offer: { cpu: 1.5 }, refused: 'not enough free CPU: asks 1.5, 1 of 4 free' },
    {
      name: 'too much memory',
      held: [{ memoryBytes: 7 * GiB }],
      offer: { memoryBytes: 2 * GiB },
      refused: 'not enough free memory: asks 2GiB, 1GiB of 8GiB free',
    },
    { name: 'no free slot', held: [{}, {}], offer: {}, slots: 2, refused: 'no free slot (all 2 in use)' },
  ];
  for (const row of table) {
    it(row.name, async () => {
      const { s } = supervisor({ slots: row.slots });
      try {
        for (const r of row.held) expect(s.offer({ offers: [sleeping(r)] }).accepted).toHaveLength(1);
        const offer = sleeping(row.offer);
        const res = s.offer({ offers: [offer] });
        if (row.refused) {
          expect(res.accepted).toEqual([]);
          expect(res.refused).toEqual([{ runId: offer.runId, reason: row.refused }]);
        } else {
          expect(res.accepted).toEqual([offer.runId]);
          expect(res.refused).toEqual([]);
        }
      } finally {
        s.stopAll({ outcome: 'cancelled', message: 'test over' });
        await s.idle(5_000);
      }
    });
  }

  it('accepts what fits from a batch, refuses the rest, and reports the capacity left', async () => {
    const { s } = supervisor({ slots: 2 });
    const offers = [sleeping({ cpu: 1 }), sleeping({ cpu: 1 }), sleeping({ cpu: 1 })];
    const res = s.offer({ offers });
    expect(res.accepted).toEqual([offers[0]?.runId, offers[1]?.runId]);
    expect(res.refused.map((r) => r.runId)).toEqual([offers[2]?.runId]);
    expect(res.capacity).toEqual({ agentId: 'AGENT', version: 2, free: { slots: 0, cpu: 2, memoryBytes: 8 * GiB } });
    s.stopAll({ outcome: 'cancelled', message: 'test over' });
    await s.idle(5_000);
    expect(s.capacity()).toEqual({ agentId: 'AGENT', version: 4, free: { slots: 2, cpu: 4, memoryBytes: 8 * GiB } });
  });

  it('refuses the shell executor unless allowed, and the http executor when not allowed', async () => {
    const { s } = supervisor({ allowHttp: false });
    const shell = makeOffer({ executor: { type: 'shell', script: 'echo hi' } });
    const http = makeOffer({ executor: { type: 'http', url: 'http://127.0.0.1:1/' } });
    expect(s.offer({ offers: [shell, http] }).refused).toEqual([
      { runId: shell.runId, reason: 'shell executor is not allowed on this agent (start it with --allow-shell)' },
      { runId: http.runId, reason: 'http executor is not allowed on this agent (start it with --allow-http)' },
    ]);
    const allowed = supervisor({ allowShell: true });
    const ok = makeOffer({ executor: { type: 'shell', script: 'echo hi' } });
    expect(allowed.s.offer({ offers: [ok] }).accepted).toEqual([ok.runId]);
    await allowed.s.idle(5_000);
    expect(allowed.finished(ok.runId)?.outcome).toBe('succeeded');
  });

  it('ignores a duplicate offer of a run it holds with the same token', async () => {
    const { s, events } = supervisor();
    const offer = sleeping();
    expect(s.offer({ offers: [offer] }).accepted).toEqual([offer.runId]);
    const again = s.offer({ offers: [{ ...offer }] });
    expect(again.accepted).toEqual([offer.runId]);
    expect(again.capacity.free.slots).toBe(3);
    expect(s.held()).toEqual([{ runId: offer.runId, token: 1 }]);
    s.stopAll({ outcome: 'cancelled', message: 'test over' });
    await s.idle(5_000);
    expect(events.filter((e) => e.kind === 'started')).toHaveLength(1);
  });

  it('refuses new offers once draining', () => {
    const { s } = supervisor();
    s.drain();
    const offer = makeOffer();
    expect(s.offer({ offers: [offer] }).refused).toEqual([{ runId: offer.runId, reason: 'agent is shutting down' }]);
  });

  it('broadcasts capacity changes coalesced, with a growing version', async () => {
    const { s, capacity } = supervisor();
    s.offer({ offers: [makeOffer(), makeOffer(), makeOffer()] });
    await s.idle(5_000);
    await eventually(() => capacity.at(-1)?.free.slots === 4);
    // Six changes (three reservations, three releases) in few event-loop turns: fewer broadcasts.
    expect(capacity.length).toBeLessThan(6);
    const versions = capacity.map((c) => c.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(versions.at(-1)).toBe(6);
  });
});

describe('Supervisor attempts', () => {
  it('reports started, then the output in order, then finished', async () => {
    const { s, events } = supervisor();
    const offer = makeOffer({ executor: { type: 'exec', command: ['sh', '-c', 'echo one; echo two >&2; echo three'] } });
    s.offer({ offers: [offer] });
    await s.idle(10_000);
    expect(events.map((e) => e.kind)).toEqual(['started', ...events.filter((e) => e.kind === 'log').map(() => 'log'), 'finished']);
    const logs = events.flatMap((e) => (e.kind === 'log' ? [e] : []));
    expect(logs.map((l) => l.seq)).toEqual(logs.map((_, i) => i));
    expect(
      logs
        .filter((l) => l.stream === 'stdout')
        .map((l) => l.data)
        .join(''),
    ).toBe('one\nthree\n');
    expect(
      logs
        .filter((l) => l.stream === 'stderr')
        .map((l) => l.data)
        .join(''),
    ).toBe('two\n');
    const started = events[0];
    const finished = events.at(-1) as FinishedEvent;
    expect(finished).toMatchObject({ runId: offer.runId, token: 1, outcome: 'succeeded', exitCode: 0, error: null });
    expect(finished.durationMs).toBe(finished.at - (started?.at ?? 0));
  });

  it('stops an attempt on request as cancelled, and ignores another token', async () => {
    const { s, finished } = supervisor();
    const offer = makeOffer({ executor: { type: 'exec', command: ['sleep', '60'] } });
    s.offer({ offers: [offer] });
    s.stop({ runs: [{ runId: offer.runId, token: 99 }], reason: 'wrong token' });
    s.stop({ runs: [{ runId: offer.runId, token: 1 }], reason: 'user asked' });
    await s.idle(10_000);
    expect(finished(offer.runId)).toMatchObject({ outcome: 'cancelled', error: 'cancelled: user asked' });
  });

  it('enforces the timeout by killing the whole process tree', async () => {
    const { s, events, finished } = supervisor();
    const offer = makeOffer({ timeoutMs: 300, executor: { type: 'exec', command: ['sh', '-c', 'sleep 60 & echo $!; wait'] } });
    s.offer({ offers: [offer] });
    await s.idle(15_000);
    const grandchild = Number(
      events
        .flatMap((e) => (e.kind === 'log' ? [e.data] : []))
        .join('')
        .trim(),
    );
    expect(grandchild).toBeGreaterThan(0);
    expect(finished(offer.runId)).toMatchObject({
      outcome: 'timed_out',
      error: 'timed out after 300ms',
      exitCode: null,
      signal: 'SIGTERM',
    });
    expect(await processGone(grandchild)).toBe(true);
  });

  it('times out a noop that sleeps too long', async () => {
    const { s, finished } = supervisor();
    const offer = makeOffer({ timeoutMs: 1000, executor: { type: 'noop', sleep: '1h' } });
    s.offer({ offers: [offer] });
    await s.idle(10_000);
    expect(finished(offer.runId)).toMatchObject({ outcome: 'timed_out', error: 'timed out after 1s' });
  });

  it('runs the prerun and postrun hooks around each attempt', async () => {
    const calls: string[] = [];
    const { s, finished } = supervisor({
      hooks: {
        prerun: (o) => {
          calls.push(`prerun ${o.jobName}`);
          if (o.jobName === 'refuse-me') throw new Error('working directory unavailable');
        },
        postrun: (o, f) => {
          calls.push(`postrun ${o.jobName} ${f.outcome}`);
        },
      },
    });
    const ok = makeOffer({ jobName: 'fine' });
    const bad = makeOffer({ jobName: 'refuse-me' });
    s.offer({ offers: [ok] });
    await s.idle(5_000);
    s.offer({ offers: [bad] });
    await s.idle(5_000);
    expect(calls).toEqual(['prerun fine', 'postrun fine succeeded', 'prerun refuse-me', 'postrun refuse-me failed']);
    expect(finished(bad.runId)).toMatchObject({ outcome: 'failed', error: 'working directory unavailable' });
  });
});

describe('Supervisor output and results', () => {
  const logsOf = (events: AgentEvent[], runId: string) => events.filter((e): e is LogEvent => e.kind === 'log' && e.runId === runId);

  it('keeps the first logLimitBytes of output, reports the totals and last lines, and ends the log with a marker', async () => {
    const { s, events, finished } = supervisor();
    // 300,000 bytes: lines of 99 x's, then a last line that only the dropped part holds.
    const script = 'yes "$(printf %099d 0 | tr 0 x)" | head -n 3000; echo the end >&2';
    const offer = makeOffer({ logLimitBytes: 64 * 1024, executor: { type: 'exec', command: ['sh', '-c', script] } });
    s.offer({ offers: [offer] });
    await s.idle(20_000);
    const end = finished(offer.runId);
    expect(end).toMatchObject({ outcome: 'succeeded', outputBytes: 300_008, droppedBytes: 300_008 - 64 * 1024, httpStatus: null });
    expect(end?.lastLines).toHaveLength(20);
    expect(end?.lastLines.at(-1)).toBe('the end');
    expect(end?.lastLines.at(-2)).toBe('x'.repeat(99));
    const logs = logsOf(events, offer.runId);
    const marker = logs.at(-1);
    expect(marker?.stream).toBe('stderr');
    expect(marker?.data).toContain(truncationMarker(64 * 1024, 300_008, 64 * 1024));
    const kept = logs.slice(0, -1).reduce((n, l) => n + Buffer.byteLength(l.data), 0);
    expect(kept).toBe(64 * 1024);
    // The finished event comes after the marker.
    expect(events.at(-1)).toBe(end);
  });

  it('reports no drop, and no marker, for output within the limit', async () => {
    const { s, events, finished } = supervisor();
    const offer = makeOffer({ executor: { type: 'exec', command: ['sh', '-c', 'echo one; echo two >&2'] } });
    s.offer({ offers: [offer] });
    await s.idle(10_000);
    expect(finished(offer.runId)).toMatchObject({ outputBytes: 8, droppedBytes: 0, lastLines: ['one', 'two'] });
    expect(logsOf(events, offer.runId).some((l) => l.data.includes('[drover]'))).toBe(false);
  });

  it('reports the status of an http attempt', async () => {
    const server = createServer((req, res) => res.writeHead(req.url === '/teapot' ? 418 : 204).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const { s, finished } = supervisor();
      const ok = makeOffer({ executor: { type: 'http', url: `${base}/ok` } });
      const teapot = makeOffer({ executor: { type: 'http', url: `${base}/teapot` } });
      s.offer({ offers: [ok, teapot] });
      await s.idle(10_000);
      expect(finished(ok.runId)).toMatchObject({ outcome: 'succeeded', httpStatus: 204 });
      expect(finished(teapot.runId)).toMatchObject({ outcome: 'failed', httpStatus: 418 });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("stops with the offer's killGraceMs, not the agent's", async () => {
    // The agent's own grace is longer than the test may take: only the offer's lets it end.
    const { s, events, finished } = supervisor({ killGraceMs: 120_000 });
    const offer = makeOffer({
      timeoutMs: 200,
      killGraceMs: 300,
      executor: { type: 'exec', command: ['sh', '-c', 'trap "" TERM; sleep 60 & echo $!; wait'] },
    });
    s.offer({ offers: [offer] });
    expect(s.longestKillGraceMs(10_000)).toBe(300);
    await s.idle(20_000);
    expect(finished(offer.runId)).toMatchObject({ outcome: 'timed_out', signal: 'SIGKILL' });
    const grandchild = Number(
      logsOf(events, offer.runId)
        .map((l) => l.data)
        .join('')
        .trim(),
    );
    expect(await processGone(grandchild)).toBe(true);
  });

  it('renders parameter templates into the command', async () => {
    const { s, events, finished } = supervisor();
    const offer = makeOffer({
      jobName: 'templated',
      attempt: 2,
      parameters: { who: 'a b; $(id)' },
      executor: { type: 'exec', command: ['printf', '%s|', '{{ param.who }}', '{{ job.name }}#{{ attempt }}'] },
    });
    s.offer({ offers: [offer] });
    await s.idle(10_000);
    expect(finished(offer.runId)?.outcome).toBe('succeeded');
    expect(
      logsOf(events, offer.runId)
        .map((l) => l.data)
        .join(''),
    ).toBe('a b; $(id)|templated#2|');
  });
});
