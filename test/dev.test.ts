// `drover dev` as a newcomer runs it: one process, no servers — embedded PostgreSQL in its data
// directory, the in-memory queue, a local agent. The example cron job runs by itself; a job
// created over the API runs on the local agent and its output comes back; after a restart the
// jobs and their history are still there; a second dev on the same directory is refused; and
// with --listen an agent in another process joins over a real NATS server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  createTestEnv,
  makeStateDir,
  runHelpers,
  spawnDrover,
  startAgent,
  waitFor,
  type ApiClient,
  type DroverProcess,
  type TestEnv,
} from './support/index.js';

let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(async () => env?.cleanup());

/** Starts `drover dev` on a free port and returns it with its API client, once it says it runs. */
async function startDev(args: string[]): Promise<{ dev: DroverProcess; client: ApiClient; readySeconds: number }> {
  const dev = spawnDrover(env, ['dev', '--api-addr', '127.0.0.1:0', ...args], { name: 'dev' });
  const line = await dev.waitForLine((l) => /^\s+API\s+http:\/\//.test(l.text), 60_000);
  const ready = dev.lines.find((l) => /ready in/.test(l.text))?.text ?? '';
  return { dev, client: api(/(http:\/\/\S+)/.exec(line.text)?.[1] ?? ''), readySeconds: Number(/ready in ([\d.]+) s/.exec(ready)?.[1]) };
}

describe('drover dev with a data directory', () => {
  let dataDir: string;
  let first: Awaited<ReturnType<typeof startDev>>;
  let manualRun: string;

  beforeAll(async () => {
    dataDir = makeStateDir(env, 'dev-data');
    first = await startDev(['--data-dir', dataDir]);
  });

  it('prints what it started and how to use it', () => {
    const text = first.dev.lines.map((l) => l.text).join('\n');
    expect(text).toMatch(/agent\s+\S+ \(local, shell and http allowed\)/);
    expect(text).toMatch(/database\s+embedded PostgreSQL/);
    expect(text).toMatch(/examples\s+created example-cron, example-manual/);
    expect(text).toContain('Ctrl-C stops it.');
  });

  it('runs the example cron job by itself', async () => {
    const started = Date.now();
    const firstRun = await waitForFirstCronRun(first.client);
    console.log(
      `drover dev: ready ${first.readySeconds.toFixed(1)} s after start; first example-cron run succeeded ${((Date.now() - started) / 1000 + first.readySeconds).toFixed(1)} s after start`,
    );
    expect(firstRun.lastLines.join('\n')).toMatch(/example-cron ran at/);
  });

  it('runs a job created over the API on the local agent, and its output comes back', async () => {
    const h = runHelpers(first.client);
    const jobId = await h.createJob({ name: 'hello', executor: { type: 'shell', script: 'echo "hello from dev, $DROVER_PARAM_WHO"' } });
    manualRun = await h.trigger(jobId, { who: 'tester' });
    const run = await h.waitForRun(manualRun);
    expect(run.state).toBe('succeeded');
    expect((await h.allLogs(manualRun)).map((c) => c.data).join('')).toBe('hello from dev, tester\n');
  });

  it('keeps output that is not text byte for byte on PGlite too', async () => {
    const h = runHelpers(first.client);
    const jobId = await h.createJob({ name: 'bytes', executor: { type: 'shell', script: "printf 'a\\000b\\377c'" } });
    const run = await h.waitForRun(await h.trigger(jobId));
    expect(run.state).toBe('succeeded');
    const printed = Buffer.from([0x61, 0x00, 0x62, 0xff, 0x63]);
    expect((await h.outputBytes(run.id)).equals(printed)).toBe(true);
    expect((await h.rawOutput(run.id)).equals(printed)).toBe(true);
  });

  it('refuses a second dev on the same data directory, naming the one that holds it', async () => {
    const second = spawnDrover(env, ['dev', '--api-addr', '127.0.0.1:0', '--data-dir', dataDir], { name: 'dev-2' });
    const status = await second.exited;
    expect(status.code).toBe(1);
    expect(second.lines.map((l) => l.text).join('\n')).toMatch(new RegExp(`process ${first.dev.pid} is using the data directory`));
  });

  it('stops cleanly, and after a restart the jobs and their runs are still there', { timeout: 120_000 }, async () => {
    const status = await first.dev.stop();
    expect(status.code).toBe(0);
    const again = await startDev(['--data-dir', dataDir]);
    const text = again.dev.lines.map((l) => l.text).join('\n');
    expect(text).not.toMatch(/created example-cron/);
    const h = runHelpers(again.client);
    const run = await h.getRun(manualRun);
    expect(run.state).toBe('succeeded');
    expect((await h.allLogs(manualRun)).map((c) => c.data).join('')).toBe('hello from dev, tester\n');
    const jobs = (await again.client.get<{ items: Array<{ name: string }> }>('/v1/jobs')).body.items.map((j) => j.name);
    expect(jobs.sort()).toEqual(['bytes', 'example-cron', 'example-manual', 'hello']);
    // And it goes on working: the manual example, with a parameter.
    const next = await h.trigger((await again.client.get<{ id: string }>('/v1/jobs/example-manual')).body.id, { name: 'again' });
    expect((await h.waitForRun(next)).state).toBe('succeeded');
    expect((await h.allLogs(next)).map((c) => c.data).join('')).toMatch(/^Hello, again! \(run /);
    expect((await again.dev.stop()).code).toBe(0);
  });
});

it('--ephemeral keeps nothing, and --listen lets an agent in another process join over NATS', { timeout: 120_000 }, async () => {
  const { dev, client } = await startDev(['--ephemeral', '--no-examples', '--listen', env.natsUrl, '--cluster', env.namespace]);
  expect(dev.lines.map((l) => l.text).join('\n')).toMatch(/database\s+embedded PostgreSQL, in memory/);
  const remote = await startAgent(env, { labels: { site: 'remote' }, name: 'remote-agent' });
  const h = runHelpers(client);
  const jobId = await h.createJob({
    name: 'on-the-remote-agent',
    executor: { type: 'exec', command: ['echo', 'hi from afar'] },
    constraints: [{ attribute: 'label.site', operator: '=', value: 'remote' }],
  });
  const run = await h.waitForRun(await h.trigger(jobId));
  expect(run).toMatchObject({ state: 'succeeded', agentId: remote.agentId });
  expect((await dev.stop()).code).toBe(0);
});

/** The first example-cron run that succeeded (the job fires every 10 s). */
async function waitForFirstCronRun(client: ApiClient) {
  const id = await waitFor(
    async () => (await client.get<{ items: Array<{ id: string }> }>('/v1/runs?job=example-cron&status=succeeded')).body.items[0]?.id,
    { timeoutMs: 60_000, description: 'the example cron job to run' },
  );
  return runHelpers(client).getRun(id);
}
