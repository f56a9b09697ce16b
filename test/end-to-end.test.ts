// Real jobs on real agents: two agent processes with different labels, a coordinator, and
// PostgreSQL, Redis and NATS. What a user would notice: the right agent runs the job, logs
// arrive whole and in order, exit codes count, and unplaceable runs say why and then run.
import { describe, expect, it } from 'vitest';
import { useCluster, type Run } from './support/index.js';

const cluster = useCluster({
  agents: [
    { labels: { region: 'eu' }, slots: 4, name: 'agent-eu' },
    { labels: { region: 'us' }, slots: 4, name: 'agent-us' },
  ],
});
const { client, createJob, trigger, waitForTerminal: finished, allLogs } = cluster;
const eu = () => cluster.agents[0]!;
const us = () => cluster.agents[1]!;

/** The run once the dispatcher has said why it waits. */
async function waitingWithReason(runId: string): Promise<Run> {
  return cluster.waitForRun(runId, (r) => !!r.queueReason);
}

describe('a fleet of two agents', () => {
  it('lists both agents with their fingerprint and labels', async () => {
    const agents = (
      await client.get<{ items: Array<{ id: string; state: string; attributes: Record<string, string | number> }> }>('/v1/agents')
    ).body.items;
    expect(agents.map((a) => a.id).sort()).toEqual([eu().agentId, us().agentId].sort());
    const euAgent = agents.find((a) => a.id === eu().agentId);
    expect(euAgent?.state).toBe('ready');
    expect(euAgent?.attributes).toMatchObject({ 'label.region': 'eu' });
    expect(Number(euAgent?.attributes['cpu.cores'])).toBeGreaterThan(0);
    expect(Number(euAgent?.attributes['memory.bytes'])).toBeGreaterThan(0);
    expect(typeof euAgent?.attributes.os).toBe('string');
  });

  it('runs a constrained job on the matching agent only, and its logs arrive complete and in order', async () => {
    const jobId = await createJob({
      name: 'eu-only',
      executor: { type: 'exec', command: ['sh', '-c', 'i=1; while [ $i -le 2000 ]; do echo "line $i"; i=$((i+1)); done; echo done >&2'] },
      constraints: [
        { attribute: 'label.region', operator: '=', value: 'eu' },
        { attribute: 'memory.bytes', operator: '>=', value: '64MiB' },
      ],
      resources: { cpu: 0.1, memory: '16MiB' },
    });
    const runIds = await Promise.all([1, 2, 3].map(() => trigger(jobId)));
    for (const id of runIds) {
      const run = await finished(id);
      expect(run.state).toBe('succeeded');
      expect(run.agentId).toBe(eu().agentId);
      expect(run.exitCode).toBe(0);
      expect(run.transitions.map((t) => t.to)).toEqual(['queued', 'offered', 'running', 'succeeded']);
      const chunks = await allLogs(id);
      expect(chunks.map((c) => c.seq)).toEqual(chunks.map((_, i) => i));
      const stdout = chunks
        .filter((c) => c.stream === 'stdout')
        .map((c) => c.data)
        .join('');
      expect(stdout).toBe(Array.from({ length: 2000 }, (_, i) => `line ${i + 1}\n`).join(''));
      expect(
        chunks
          .filter((c) => c.stream === 'stderr')
          .map((c) => c.data)
          .join(''),
      ).toBe('done\n');
    }
  });

  it('reports a non-zero exit as failed with the exit code', async () => {
    const jobId = await createJob({ name: 'exits-3', executor: { type: 'exec', command: ['sh', '-c', 'echo bad news >&2; exit 3'] } });
    const run = await finished(await trigger(jobId));
    expect(run.state).toBe('failed');
    expect(run.exitCode).toBe(3);
    expect((await allLogs(run.id)).map((c) => c.data).join('')).toBe('bad news\n');
  });

  it('passes parameters to the program as DROVER_PARAM_* variables', async () => {
    const jobId = await createJob({
      name: 'params',
      executor: { type: 'exec', command: ['sh', '-c', 'echo "day=$DROVER_PARAM_DAY run=$DROVER_RUN_ID"'] },
    });
    const runId = await trigger(jobId, { DAY: '2026-11-21' });
    expect((await finished(runId)).state).toBe('succeeded');
    expect((await allLogs(runId)).map((c) => c.data).join('')).toBe(`day=2026-11-21 run=${runId}\n`);
  });

  it('keeps a run nobody fits queued with its reason, and runs it when a fitting agent joins', async () => {
    const jobId = await createJob({
      name: 'asia',
      executor: { type: 'noop' },
      constraints: [{ attribute: 'label.region', operator: '=', value: 'ap' }],
    });
    const runId = await trigger(jobId);
    const waiting = await waitingWithReason(runId);
    expect(waiting.state).toBe('queued');
    expect(waiting.queueReason).toBe('no agent matches label.region = ap');
    const ap = await cluster.startAgent({ labels: { region: 'ap' }, slots: 1, name: 'agent-ap' });
    const run = await finished(runId);
    expect(run.state).toBe('succeeded');
    expect(run.agentId).toBe(ap.agentId);
  });

  it('does not run a shell job on agents without --allow-shell, and runs it on one that allows it', async () => {
    const jobId = await createJob({ name: 'shell-script', executor: { type: 'shell', script: 'echo "from $0"; exit 0' } });
    const runId = await trigger(jobId);
    const waiting = await waitingWithReason(runId);
    expect(waiting.queueReason).toBe('no agent allows the shell executor (start an agent with --allow-shell)');
    const shelly = await cluster.startAgent({ allowShell: true, slots: 1, name: 'agent-shell' });
    const run = await finished(runId);
    expect(run.state).toBe('succeeded');
    expect(run.agentId).toBe(shelly.agentId);
    expect((await allLogs(runId)).map((c) => c.data).join('')).toBe('from /bin/sh\n');
  });

  it('dispatches by priority, then by age', async () => {
    const jobId = await createJob({
      name: 'ordered',
      executor: { type: 'noop' },
      priority: 10,
      constraints: [{ attribute: 'label.lane', operator: '=', value: 'prio' }],
    });
    const low = (await client.post<{ runs: Array<{ id: string }> }>('/v1/runs/batch', { runs: [{ job: jobId, count: 3 }] })).body.runs.map(
      (r) => r.id,
    );
    const high = await client.post<{ id: string }>(`/v1/jobs/${jobId}/runs`, { priority: 90 });
    await cluster.startAgent({ labels: { lane: 'prio' }, slots: 1, name: 'agent-prio' });
    const runs = await Promise.all([high.body.id, ...low].map((id) => finished(id)));
    const byStart = [...runs].sort(
      (a, b) => Date.parse(a.startedAt ?? '') - Date.parse(b.startedAt ?? '') || a.attemptToken - b.attemptToken,
    );
    expect(byStart.map((r) => r.id)).toEqual([high.body.id, ...low]);
  });

  it("follows a run's logs as server-sent events until it ends", async () => {
    const jobId = await createJob({
      name: 'slow-talker',
      executor: { type: 'exec', command: ['sh', '-c', 'for i in 1 2 3; do echo tick $i; sleep 0.3; done'] },
    });
    const runId = await trigger(jobId);
    const res = await fetch(`${client.baseUrl}/v1/runs/${runId}/logs?follow=1`);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const text = await res.text(); // the stream ends when the run does
    const events = text
      .trim()
      .split('\n\n')
      .map((block) => ({
        event: /^event: (.*)$/m.exec(block)?.[1],
        data: JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? 'null') as { data?: string; state?: string },
      }));
    expect(
      events
        .filter((e) => e.event === 'log')
        .map((e) => e.data.data)
        .join(''),
    ).toBe('tick 1\ntick 2\ntick 3\n');
    expect(events[events.length - 1]).toEqual({ event: 'end', data: { state: 'succeeded' } });
    // A browser's EventSource reconnects with Last-Event-ID: the stream resumes after that chunk.
    const firstId = /^id: (.*)$/m.exec(text)?.[1];
    expect(firstId).toBeDefined();
    const resumed = await (
      await fetch(`${client.baseUrl}/v1/runs/${runId}/logs?follow=1`, { headers: { 'last-event-id': firstId! } })
    ).text();
    const resumedLogs = [...resumed.matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1]!) as { data?: string }).filter((d) => d.data);
    expect(resumedLogs.map((d) => d.data).join('')).toBe(
      events
        .filter((e) => e.event === 'log')
        .slice(1)
        .map((e) => e.data.data)
        .join(''),
    );
    // The attempt's resource usage is recorded: duration, CPU time and peak memory.
    const run = (await client.get<Run>(`/v1/runs/${runId}`)).body;
    expect(run.durationMs).toBeGreaterThan(0);
    expect(run.cpuTimeMs).toBeGreaterThanOrEqual(0);
    expect(run.peakMemoryBytes).toBeGreaterThan(0);
  });
});
