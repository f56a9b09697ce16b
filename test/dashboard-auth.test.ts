// The dashboard against a coordinator that requires API tokens, in a real browser: it asks for
// a token on the first 401, refuses a wrong one with the coordinator's words, loads every page
// with a good one (bearer on each call, the live log stream included), shows the token's role
// and disables the buttons it may not use (saying which role would), and signs out.
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
let operatorToken: string;
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
  const tokenFor = async (role: string) => {
    const res = await fetch(`${baseUrl}/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${coordinator.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ role, namespaces: ['default'], name: `dashboard-test-${role}` }),
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { token: string }).token;
  };
  viewerToken = await tokenFor('viewer');
  operatorToken = await tokenFor('operator');
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
  // A viewer may read but neither pause nor run: the header names the role, and the buttons are
  // disabled with the role they need in their tooltip.
  await page.locator('.top .role[data-role="viewer"]').waitFor();
  const row = page.locator('tr[data-job="guarded"]');
  const pause = row.getByRole('button', { name: 'Pause' });
  expect(await pause.isDisabled()).toBe(true);
  expect(await pause.getAttribute('title')).toBe('Needs the operator role or above; this token is viewer.');
  const runNow = row.getByRole('button', { name: 'Run now…' });
  expect(await runNow.isDisabled()).toBe(true);
  expect(await runNow.getAttribute('title')).toContain('Needs the submitter role');
  expect(ok(await admin.GET('/v1/jobs/{id}', { params: { path: { id: 'guarded' } } })).pausedAt).toBeNull();
  await page.screenshot({ path: join(SCREENSHOTS, 'jobs-viewer.png'), fullPage: true });

  // The log stream is a fetch with the bearer token: it connects (EventSource could not).
  await page.goto(`${baseUrl}/ui/runs/${runId}`);
  await page.locator('[data-run-state="queued"]').waitFor();
  await page.locator('[data-log-status="following"]').waitFor();
  expect(await page.locator('.sign-in').count()).toBe(0);
  expect(await page.getByRole('button', { name: 'Cancel' }).isDisabled()).toBe(true);
});

it('signs out: the token is forgotten and the sign-in view is back', async () => {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.locator('.sign-in').waitFor();
  expect(await page.evaluate(() => sessionStorage.getItem('drover.token'))).toBeNull();
  await page.reload();
  await page.locator('.sign-in').waitFor();
});

it("an operator's token enables the buttons a viewer's disables, and they work", async () => {
  await page.fill('input[name="token"]', operatorToken);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('.sign-in').waitFor({ state: 'detached' });
  await page.goto(`${baseUrl}/ui/runs/${runId}`);
  await page.locator('.top .role[data-role="operator"]').waitFor();
  expect(await page.getByRole('button', { name: 'Cancel' }).isEnabled()).toBe(true);

  await page.goto(`${baseUrl}/ui/jobs`);
  const row = page.locator('tr[data-job="guarded"]');
  await row.waitFor();
  await page.locator('.top .role[data-role="operator"]').waitFor();
  expect(await row.getByRole('button', { name: 'Run now…' }).isEnabled()).toBe(true);
  const pause = row.getByRole('button', { name: 'Pause' });
  expect(await pause.isEnabled()).toBe(true);
  expect(await pause.getAttribute('title')).toBeNull();
  await pause.click();
  await row.getByRole('button', { name: 'Resume' }).waitFor();
  expect(ok(await admin.GET('/v1/jobs/{id}', { params: { path: { id: 'guarded' } } })).pausedAt).not.toBeNull();
  await page.screenshot({ path: join(SCREENSHOTS, 'jobs-operator.png'), fullPage: true });
});
