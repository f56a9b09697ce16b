// Managing jobs from the dashboard, in a real browser (Debian's chromium via playwright-core)
// against a real coordinator and agent: the jobs list shows a job's latest run while it is
// queued or running (not "never").
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { createDroverClient, ok, type DroverClient } from '@drover/client';
import { createTestEnv, startAgent, startCoordinator, waitFor, type TestEnv } from './support/index.js';
import { launchChromium } from './support/browser.js';

let env: TestEnv;
let baseUrl: string;
let client: DroverClient;
let browser: Browser;
let page: Page;
const dialogs: string[] = [];

async function createJob(body: Record<string, unknown>): Promise<string> {
  return ok(await client.POST('/v1/jobs', { body: body as never })).id;
}
async function trigger(jobId: string): Promise<string> {
  return ok(await client.POST('/v1/jobs/{id}/runs', { params: { path: { id: jobId } }, body: {} })).id;
}
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
  env = await createTestEnv();
  baseUrl = (await startCoordinator(env)).url;
  client = createDroverClient({ baseUrl });
  await startAgent(env, { slots: 4, labels: { pool: 'batch' } });
  browser = await launchChromium();
  env.onCleanup(() => browser.close());
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  // The dashboard asks before acting: accept, as an operator would.
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.accept();
  });
});
afterAll(async () => env?.cleanup());

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
