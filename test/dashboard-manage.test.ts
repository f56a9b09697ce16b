// Managing jobs and dead letters from the dashboard, in a real browser (Debian's chromium via
// playwright-core) against a real coordinator and agent: the jobs list shows a job's latest run
// while it is queued or running (not "never"), a job is created from YAML (a bad one shows the
// coordinator's errors field by field) and deleted after a confirmation, its definition reads
// as YAML, and several dead letters are replayed at once (their entries then name the attempt
// that failed after the replay), and one is dismissed.
import { beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { createDroverClient, ok, type DroverClient } from '@drover/client';
import { useCluster, waitFor, type TestEnv } from './support/index.js';
import { launchChromium } from './support/browser.js';

const cluster = useCluster({ agents: [{ slots: 4, labels: { pool: 'batch' } }] });
const { createJob, trigger } = cluster;
let env: TestEnv;
let baseUrl: string;
let client: DroverClient;
let browser: Browser;
let page: Page;
const dialogs: string[] = [];

async function waitForState(id: string, states: string[]): Promise<string> {
  return waitFor(
    async () => {
      const s = ok(await client.GET('/v1/runs/{id}', { params: { path: { id } } })).state;
      return states.includes(s) ? s : undefined;
    },
    { description: `run ${id} to be ${states.join(' or ')}` },
  );
}

beforeAll(async () => {
  env = cluster.env;
  baseUrl = cluster.coordinator.url;
  client = createDroverClient({ baseUrl });
  browser = await launchChromium();
  env.onCleanup(() => browser.close());
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  // The dashboard asks before deleting or acting on several: accept, as an operator would.
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.accept();
  });
});

it("shows a job's latest run while it is queued or running, not 'never'", async () => {
  const running = await createJob({ name: 'sleeps', executor: { type: 'exec', command: ['sleep', '60'] } });
  const queued = await createJob({
    name: 'waits-for-gpu',
    executor: { type: 'noop' },
    constraints: [{ attribute: 'label.pool', operator: '=', value: 'gpu' }],
  });
  const runningRun = await trigger(running);
  const queuedRun = await trigger(queued);
  await waitForState(runningRun, ['running']);
  await waitForState(queuedRun, ['queued']);

  await page.goto(`${baseUrl}/ui/jobs`);
  const sleeps = page.locator('tr[data-job="sleeps"] [data-last-run]');
  await sleeps.waitFor();
  expect(await sleeps.getAttribute('data-last-run')).toBe('running');
  expect(await sleeps.locator('a').getAttribute('href')).toBe(`/ui/runs/${runningRun}`);
  const waits = page.locator('tr[data-job="waits-for-gpu"] [data-last-run]');
  expect(await waits.getAttribute('data-last-run')).toBe('queued');
  expect(await page.locator('tr[data-job="sleeps"]').textContent()).not.toContain('never');
  expect(await page.locator('tr[data-job="waits-for-gpu"]').textContent()).not.toContain('never');
  ok(await client.POST('/v1/runs/{id}/cancel', { params: { path: { id: runningRun } }, body: {} }));
  ok(await client.POST('/v1/runs/{id}/cancel', { params: { path: { id: queuedRun } }, body: {} }));
});

it('creates a job from YAML, showing a bad one field by field, reads it as YAML and deletes it', async () => {
  await page.goto(`${baseUrl}/ui/jobs`);
  await page.getByRole('link', { name: 'New job' }).click();
  const editor = page.getByLabel('new job definition as YAML or JSON');
  await editor.waitFor();
  // A bad cron and a bad executor: both named, nothing created.
  await editor.fill(['name: made-in-browser', 'executor:', '  type: teleport', 'schedule:', "  cron: '61 2 * * *'"].join('\n'));
  await page.getByRole('button', { name: 'Create' }).click();
  await page.locator('.field-errors [data-field="schedule.cron"]').waitFor();
  expect(await page.locator('.field-errors [data-field^="executor"]').count()).toBeGreaterThan(0);
  const none = ok(await client.GET('/v1/jobs', { params: { query: { limit: 100 } } }));
  expect(none.items.map((j) => j.name)).not.toContain('made-in-browser');

  await editor.fill(
    [
      'name: made-in-browser',
      'description: Made in the dashboard.',
      'executor:',
      '  type: exec',
      "  command: [sh, -c, 'echo made']",
      'schedule:',
      "  cron: '30 2 * * *'",
      '  timezone: Europe/Rome',
    ].join('\n'),
  );
  await page.getByRole('button', { name: 'Create' }).click();
  await page.waitForURL(/\/ui\/jobs\/[0-9A-Z]{26}$/);
  const jobId = new URL(page.url()).pathname.split('/').pop() ?? '';
  const job = ok(await client.GET('/v1/jobs/{id}', { params: { path: { id: jobId } } }));
  expect(job).toMatchObject({ name: 'made-in-browser', description: 'Made in the dashboard.' });
  expect(job.schedule).toEqual({ cron: '30 2 * * *', timezone: 'Europe/Rome' });

  // Its definition as YAML, as "drover jobs apply -f" takes it.
  await page.locator('[data-definition-yaml] summary').click();
  const yaml = (await page.locator('[data-definition-yaml] pre').textContent()) ?? '';
  expect(yaml).toContain('name: made-in-browser\n');
  expect(yaml).toMatch(/cron: ['"]?30 2 \* \* \*['"]?\n/);

  await page.getByRole('button', { name: 'Delete job' }).click();
  await page.waitForURL(/\/ui\/jobs$/);
  expect(dialogs.at(-1)).toContain('Delete the job made-in-browser?');
  expect((await client.GET('/v1/jobs/{id}', { params: { path: { id: jobId } } })).response.status).toBe(404);
  await page.locator('tr[data-job]').first().waitFor();
  expect(await page.locator('tr[data-job="made-in-browser"]').count()).toBe(0);
});

it('replays several selected dead letters at once, leaving the others open, and dismisses one', async () => {
  const failing = await createJob({
    name: 'fails-once-each',
    executor: { type: 'exec', command: ['sh', '-c', 'exit 3'] },
    retry: { maxAttempts: 1 },
  });
  const runs = [await trigger(failing), await trigger(failing), await trigger(failing)];
  for (const r of runs) await waitForState(r, ['failed']);
  const [first, second, third] = runs as [string, string, string];

  await page.goto(`${baseUrl}/ui/dead-letters`);
  for (const r of runs) await page.locator(`tr[data-dead-letter="${r}"]`).waitFor();
  await page.getByLabel(`select dead letter ${first}`).check();
  await page.getByLabel(`select dead letter ${third}`).check();
  await page.getByRole('button', { name: 'Replay selected (2)' }).click();
  await page.locator('[data-bulk-result="2"]').waitFor();
  expect(dialogs.at(-1)).toBe('Replay 2 dead letters?');

  // Each replayed run ran again (a second attempt) and failed again; the unselected one was left alone.
  for (const r of [first, third]) {
    await waitFor(
      async () => {
        const run = ok(await client.GET('/v1/runs/{id}', { params: { path: { id: r } } }));
        return run.attempt === 2 && run.state === 'failed' ? true : undefined;
      },
      { description: `run ${r} to fail its second attempt` },
    );
  }
  const untouched = ok(await client.GET('/v1/runs/{id}', { params: { path: { id: second } } }));
  expect(untouched).toMatchObject({ attempt: 1, state: 'failed' });
  const letters = ok(await client.GET('/v1/dead-letters', { params: { query: { status: 'all' } } }));
  const byRun = new Map(letters.items.map((d) => [d.runId, d]));
  expect(byRun.get(second)).toMatchObject({ attempt: 1, resolution: null });
  // The second failure opened the entry again, naming the attempt that failed (the run's
  // attempt 2, though it was the first of the budget the replay gave).
  for (const r of [first, third])
    expect(byRun.get(r)).toMatchObject({
      attempt: 2,
      resolution: null,
      reason: 'attempt 2 exited with code 3; all 1 attempts since the retry by hand are used',
    });
  expect(byRun.get(second)?.reason).toBe('attempt 1 exited with code 3; all 1 attempts are used');
  const row = page.locator(`tr[data-dead-letter="${first}"]`);
  await row.getByText('attempt 2 exited with code 3').waitFor();
  expect(await row.textContent()).toContain('attempt 2');

  // Dismiss takes the selected entry off the open list and leaves its run as it ended.
  await page.getByLabel(`select dead letter ${second}`).check();
  await page.getByRole('button', { name: 'Dismiss selected (1)' }).click();
  await page.locator('[data-bulk-result="1"]').waitFor();
  await waitFor(async () => ((await page.locator(`tr[data-dead-letter="${second}"]`).count()) === 0 ? true : undefined), {
    description: 'the dismissed entry to leave the open list',
  });
  const dismissed = ok(await client.GET('/v1/dead-letters', { params: { query: { status: 'dismissed' } } }));
  expect(dismissed.items.map((d) => d.runId)).toEqual([second]);
  expect(ok(await client.GET('/v1/runs/{id}', { params: { path: { id: second } } }))).toMatchObject({ attempt: 1, state: 'failed' });
});
