// The dashboard against a coordinator that requires API tokens, in a real browser: it asks for
// a token on the first 401, refuses a wrong one with the coordinator's words, loads every page
// with a good one (bearer on each call, the live log stream included), shows a 403 beside the
// button whose action the token's role may not take, and signs out.
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { createDroverClient, ok, type DroverClient } from '@drover/client';
import { REPO_ROOT, createTestEnv, startCoordinator, type TestEnv } from './support/index.js';
import { launchChromium } from './support/browser.js';

const SCREENSHOTS = join(REPO_ROOT, 'test-artifacts', 'screenshots');

let env: TestEnv;
let baseUrl: string;
let admin: DroverClient;
let viewerToken: string;
let browser: Browser;
let page: Page;
let runId: string;

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  env = await createTestEnv();
  const coordinator = await startCoordinator(env, { auth: true });
  baseUrl = coordinator.url;
  admin = createDroverClient({ baseUrl, token: coordinator.token! });
  // A viewer of the default namespace, made as an operator would with `drover tokens create`.
  const res = await fetch(`${baseUrl}/v1/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${coordinator.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ role: 'viewer', namespaces: ['default'], name: 'dashboard-test' }),
  });
  expect(res.status).toBe(201);
  viewerToken = ((await res.json()) as { token: string }).token;
  const job = ok(await admin.POST('/v1/jobs', { body: { name: 'guarded', executor: { type: 'noop' }, schedule: { cron: '0 3 * * *' } } }));
  // No agent: the run stays queued, and its page keeps a log stream open.
  runId = ok(await admin.POST('/v1/jobs/{id}/runs', { params: { path: { id: job.id } }, body: {} })).id;
  browser = await launchChromium();
  env.onCleanup(() => browser.close());
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
});
afterAll(async () => env?.cleanup());

it('asks for a token, and says so when the coordinator refuses one', async () => {
  await page.goto(`${baseUrl}/ui/fleet`);
  await page.locator('.sign-in').waitFor();
  expect(await page.locator('.sign-in').textContent()).toContain('drover tokens create --role viewer');
  expect(await page.locator('tr[data-agent]').count()).toBe(0);

  await page.fill('input[name="token"]', 'drv_not_a_real_token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('.sign-in [role="alert"]', { hasText: 'refused this token' }).waitFor();
  expect(await page.evaluate(() => sessionStorage.getItem('drover.token'))).toBeNull();
  await page.screenshot({ path: join(SCREENSHOTS, 'sign-in.png'), fullPage: true });
});

it('loads the pages with a good token, kept for the tab only, and follows a log with it', async () => {
  await page.fill('input[name="token"]', viewerToken);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Fleet' }).waitFor();
  await page.getByText('No agent has registered yet').waitFor();
  expect(await page.evaluate(() => sessionStorage.getItem('drover.token'))).toBe(viewerToken);
  expect(await page.evaluate(() => localStorage.length)).toBe(0);

  await page.goto(`${baseUrl}/ui/jobs`);
  await page.locator('tr[data-job="guarded"]').waitFor();
  // A viewer may read but not pause: the refusal is shown beside the button, the page stays.
  await page.locator('tr[data-job="guarded"]').getByRole('button', { name: 'Pause' }).click();
  const refusal = page.locator('tr[data-job="guarded"] .action-error');
  await refusal.waitFor();
  expect(await refusal.textContent()).toContain("Your token's role cannot do this");
  expect(ok(await admin.GET('/v1/jobs/{id}', { params: { path: { id: 'guarded' } } })).pausedAt).toBeNull();
  await page.screenshot({ path: join(SCREENSHOTS, 'jobs-forbidden.png'), fullPage: true });

  // The log stream is a fetch with the bearer token: it connects (EventSource could not).
  await page.goto(`${baseUrl}/ui/runs/${runId}`);
  await page.locator('[data-run-state="queued"]').waitFor();
  await page.locator('[data-log-status="following"]').waitFor();
  expect(await page.locator('.sign-in').count()).toBe(0);
});

it('signs out: the token is forgotten and the sign-in view is back', async () => {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.locator('.sign-in').waitFor();
  expect(await page.evaluate(() => sessionStorage.getItem('drover.token'))).toBeNull();
  await page.reload();
  await page.locator('.sign-in').waitFor();
});
