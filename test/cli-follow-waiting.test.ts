// `drover jobs run -f` and `drover logs -f` on a run that cannot start yet: the person watching
// is told why it waits, and each time the reason changes, instead of a silent terminal.
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  api,
  createTestEnv,
  runHelpers,
  spawnDrover,
  startAgent,
  startCoordinator,
  waitFor,
  type ApiClient,
  type DroverProcess,
  type TestEnv,
} from './support/index.js';

let env: TestEnv;
let client: ApiClient;
let addr: string;

beforeAll(async () => {
  env = await createTestEnv();
  const coordinator = await startCoordinator(env);
  addr = coordinator.url;
  client = api(addr);
  await startAgent(env, { labels: { region: 'eu' }, name: 'agent-eu' });
});
afterAll(async () => env?.cleanup());

const stderrOf = (proc: DroverProcess) =>
  proc.lines
    .filter((l) => l.stream === 'stderr')
    .map((l) => l.text)
    .filter((t) => t.startsWith('drover: '));

/** A job only an agent of this region may run. */
const jobIn = (name: string, region: string) => ({
  name,
  executor: { type: 'exec', command: ['echo', `${name} ran`] },
  constraints: [{ attribute: 'label.region', operator: '=', value: region }],
});

it('jobs run -f prints why the run waits, each change of the reason once, then the output', async () => {
  await runHelpers(client).createJob(jobIn('waits-for-ap', 'ap'));
  const follow = spawnDrover(env, ['jobs', 'run', 'waits-for-ap', '-f'], { name: 'jobs run -f', env: { DROVER_ADDR: addr } });
  await follow.waitForLine((l) => /is queued: .*label\.region = ap/.test(l.text), 30_000);

  // The job now wants another region: the reason changes, and so does what the person reads.
  const patched = await client.patch('/v1/jobs/waits-for-ap', { constraints: [{ attribute: 'label.region', operator: '=', value: 'us' }] });
  expect(patched.status).toBe(200);
  await follow.waitForLine((l) => /is queued: .*label\.region = us/.test(l.text), 30_000);

  // An agent of that region joins: the run starts, its output follows and the command succeeds.
  await startAgent(env, { labels: { region: 'us' }, name: 'agent-us' });
  expect((await follow.exited).code).toBe(0);
  expect(follow.lines.filter((l) => l.stream === 'stdout').map((l) => l.text)).toEqual(['waits-for-ap ran']);
  const waiting = stderrOf(follow);
  expect(waiting).toEqual([
    expect.stringMatching(/^drover: run \w+ is queued: .*label\.region = ap/),
    expect.stringMatching(/^drover: run \w+ is queued: .*label\.region = us/),
  ]);
});

it('logs -f on a queued run prints its reason; a run that starts at once prints none', async () => {
  const h = runHelpers(client);
  const stuck = await h.trigger(await h.createJob(jobIn('waits-for-mars', 'mars')));
  await waitFor(async () => ((await h.getRun(stuck)).queueReason ? true : undefined));
  const follow = spawnDrover(env, ['logs', stuck, '-f'], { name: 'logs -f', env: { DROVER_ADDR: addr } });
  await follow.waitForLine((l) => /is queued: .*label\.region = mars/.test(l.text), 30_000);
  expect((await client.post(`/v1/runs/${stuck}/cancel`, {})).status).toBe(200);
  expect((await follow.exited).code).toBe(1);
  expect(stderrOf(follow)).toEqual([
    expect.stringMatching(new RegExp(`^drover: run ${stuck} is queued: .*label\\.region = mars`)),
    expect.stringMatching(new RegExp(`^drover: run ${stuck} ended cancelled`)),
  ]);

  await h.createJob(jobIn('runs-in-eu', 'eu'));
  const quick = spawnDrover(env, ['jobs', 'run', 'runs-in-eu', '-f'], { name: 'jobs run -f eu', env: { DROVER_ADDR: addr } });
  expect((await quick.exited).code).toBe(0);
  expect(stderrOf(quick)).toEqual([]);
});
