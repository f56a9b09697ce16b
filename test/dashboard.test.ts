// The web dashboard in a real browser (Debian's chromium, driven by playwright-core) against a
// real coordinator and agents: the fleet page shows the live agents, a run's page follows its
// output as it is printed, cancel works from there, colours in output are drawn as colours and
// other control characters as tokens (never interpreted, nor markup read as HTML), output is read
// by line, stream and search and downloaded as printed, the runs list names agents and says why a
// run failed, a bad job edit shows the coordinator's
// field errors, and every main page is saved as a screenshot under test-artifacts/screenshots/.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import pg from 'pg';
import type { Browser, Page } from 'playwright-core';
import { createDroverClient, ok, type DroverClient } from '@drover/client';
import { REPO_ROOT, useCluster, waitFor, type StartedAgent, type TestEnv } from './support/index.js';
import { launchChromium } from './support/browser.js';
const SCREENSHOTS = join(REPO_ROOT, 'test-artifacts', 'screenshots');

const cluster = useCluster({
  coordinatorArgs: ['--heartbeat-interval', '1s', '--agent-down-after', '3s'],
  agents: [
    { labels: { region: 'eu', pool: 'batch' }, slots: 4, name: 'agent-eu', extraArgs: ['--name', 'agent-eu'] },
    { labels: { region: 'us', pool: 'batch' }, slots: 2, name: 'agent-us', extraArgs: ['--name', 'agent-us'] },
  ],
});
const { createJob, trigger } = cluster;
let env: TestEnv;
let baseUrl: string;
let client: DroverClient;
let browser: Browser;
let page: Page;
let agents: StartedAgent[];

async function runState(id: string): Promise<string> {
  return ok(await client.GET('/v1/runs/{id}', { params: { path: { id } } })).state;
}
async function waitForState(id: string, states: string[]): Promise<string> {
  return waitFor(
    async () => {
      const s = await runState(id);
      return states.includes(s) ? s : undefined;
    },
    { description: `run ${id} to be ${states.join(' or ')}` },
  );
}
async function screenshot(name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  env = cluster.env;
  baseUrl = cluster.coordinator.url;
  client = createDroverClient({ baseUrl });
  agents = [...cluster.agents];
  browser = await launchChromium();
  env.onCleanup(() => browser.close());
  page = await browser.newPage({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
  // The dashboard asks before cancelling or draining: accept, as an operator would.
  page.on('dialog', (d) => void d.accept());
});

it('shows both live agents on the fleet page, with their labels and the fleet health banner', async () => {
  // A run no agent can take makes the banner speak.
  await trigger(
    await createJob({
      name: 'wants-gpu',
      executor: { type: 'noop' },
      constraints: [{ attribute: 'label.pool', operator: '=', value: 'gpu' }],
    }),
  );
  await page.goto(`${baseUrl}/`);
  expect(new URL(page.url()).pathname).toBe('/ui/');
  const rows = page.locator('tr[data-agent]');
  await rows.nth(1).waitFor();
  expect(await rows.count()).toBe(2);
  for (const agent of agents) {
    const row = page.locator('tr', { hasText: agent.agentId });
    await row.getByText(agent === agents[0] ? 'agent-eu' : 'agent-us').waitFor();
    await row.locator('[data-state="ready"]').waitFor();
  }
  await page.locator('tr', { hasText: 'region=eu' }).waitFor();
  await page.locator('[data-alert="unplaceable"]', { hasText: 'wants-gpu' }).waitFor();
  expect(await page.locator('[data-alert="unplaceable"]').textContent()).toContain('no agent matches label.pool = gpu');

  // Filtering by label goes to the server and keeps only the matching agent.
  await page.fill('input[name="label"]', 'region=us');
  await page.press('input[name="label"]', 'Enter');
  await page.waitForURL(/label=region%3Dus/);
  await waitFor(async () => ((await page.locator('tr[data-agent]').count()) === 1 ? true : undefined), {
    description: 'the fleet table to show only the us agent',
  });
  expect(await page.locator('tr[data-agent]').first().textContent()).toContain(agents[1]?.agentId);
  await page.goto(`${baseUrl}/ui/fleet`);
  await rows.nth(1).waitFor();
  await screenshot('fleet');
});

it("follows a running run's output as it is printed, and cancels it", async () => {
  const jobId = await createJob({
    name: 'slow-printer',
    executor: { type: 'exec', command: ['sh', '-c', 'i=1; while [ $i -le 120 ]; do echo "line $i"; i=$((i+1)); sleep 0.5; done'] },
  });
  const runId = await trigger(jobId);
  await waitForState(runId, ['running']);
  await page.goto(`${baseUrl}/ui/runs/${runId}`);
  const log = page.locator('pre.log');
  await log.getByText('line 2', { exact: false }).waitFor();
  // The page showed line 2 before the run ended, and later lines keep arriving while it runs.
  await log.getByText('line 6', { exact: false }).waitFor();
  expect(await runState(runId)).toBe('running');
  await page.locator('[data-log-status="following"]').waitFor();
  await screenshot('run');

  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.locator('[data-run-state="cancelled"]').waitFor({ timeout: 30_000 });
  expect(await runState(runId)).toBe('cancelled');
  await page.locator('[data-log-status="ended"]').waitFor();
});

it("draws a run's control characters as visible tokens, never interpreting them", async () => {
  const jobId = await createJob({
    name: 'prints-controls',
    // argv, not a shell: the escape sequence and the bidi override reach the output as they are.
    executor: { type: 'exec', command: ['printf', '%s\\n%s\\n', '\x1b[31mred\x1b[0m', '\u202Eevil'] },
  });
  const runId = await trigger(jobId);
  await waitForState(runId, ['succeeded']);
  // Stored faithfully: the API returns the bytes the job printed.
  const stored = ok(await client.GET('/v1/runs/{id}/logs', { params: { path: { id: runId } } }));
  expect(stored.items.map((c) => c.data).join('')).toBe('\x1b[31mred\x1b[0m\n\u202Eevil\n');

  await page.goto(`${baseUrl}/ui/runs/${runId}`);
  const log = page.locator('pre.log');
  await log.getByText('evil').waitFor();
  // The colour is drawn; the bidi override is a token, never applied.
  expect(await log.locator('.ansi', { hasText: 'red' }).getAttribute('data-fg')).toBe('187, 0, 0');
  let text = (await log.textContent()) ?? '';
  expect(text).toContain('red\n<U+202E>evil');
  expect(text).not.toContain('␛');
  expect(text).not.toContain('\u202E');
  expect(await log.locator('[data-control="U+202E RIGHT-TO-LEFT OVERRIDE"]').count()).toBe(1);
  // Raw: every escape as its token.
  await page.getByLabel('raw (escapes as tokens)').check();
  await log.locator('[data-control="U+001B ESC"]').first().waitFor();
  text = (await log.textContent()) ?? '';
  expect(text).toContain('␛[31mred␛[0m');
  expect(text).not.toContain('\x1b');
  expect(await log.locator('[data-control="U+001B ESC"]').count()).toBe(2);
  // An open coordinator never asks for a token.
  expect(await page.locator('.sign-in').count()).toBe(0);
  expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
  await page.locator('[data-log-status="ended"]').waitFor();
  await screenshot('run-controls');
});

it("draws a run's colours as coloured text, its markup as text, and reads it by line, stream and search", async () => {
  // Output as a colourful tool prints it, with markup that must stay text.
  const script = [
    "printf '\\033[32mPASS\\033[0m test one\\n'",
    'printf \'\\033[1;31mFAIL\\033[0m <img src=x onerror="window.pwned=1"><b>not bold</b>\\n\' >&2',
    "printf 'plain \\033[38;5;208morange\\033[0m end\\n'",
  ].join('; ');
  const runId = await trigger(await createJob({ name: 'prints-colours', executor: { type: 'exec', command: ['sh', '-c', script] } }));
  await waitForState(runId, ['succeeded']);
  await page.goto(`${baseUrl}/ui/runs/${runId}`);
  const log = page.locator('pre.log');
  await log.getByText('orange').waitFor();
  await page.locator('[data-log-status="ended"]').waitFor();

  // What the browser draws: the computed colour and weight (the tests are typed without the DOM).
  const drawn = (text: string) =>
    log.locator('.ansi', { hasText: text }).evaluate((el) => {
      const style = (globalThis as unknown as { getComputedStyle(e: unknown): { color: string; fontWeight: string } }).getComputedStyle(el);
      return [style.color, style.fontWeight];
    });
  expect(await drawn('PASS')).toEqual(['rgb(0, 187, 0)', '400']);
  expect(await drawn('FAIL')).toEqual(['rgb(187, 0, 0)', '700']);
  expect(await log.locator('.ansi', { hasText: 'orange' }).getAttribute('data-fg')).toMatch(/^\d+, ?\d+, ?\d+$/);
  const text = (await log.textContent()) ?? '';
  // (stdout and stderr are two pipes: their order between each other is not asserted)
  for (const line of ['PASS test one\n', 'FAIL <img src=x onerror="window.pwned=1"><b>not bold</b>\n', 'plain orange end\n'])
    expect(text).toContain(line);
  expect(text).not.toContain('\x1b');
  expect(text).not.toMatch(/␛|\[3\dm|\[0m/);
  // The markup is text: no element was made from it, no handler ran.
  expect(await log.locator('img, b').count()).toBe(0);
  expect(await page.evaluate('window.pwned')).toBeUndefined();

  // Times: one per line.
  await page.getByLabel('times').check();
  expect(await log.locator('.log-time').count()).toBe(3);
  expect(await log.locator('.log-time').first().textContent()).toMatch(/^\d\d:\d\d:\d\d\.\d{3} $/);
  // Only stderr.
  await page.selectOption('select[name="stream"]', 'stderr');
  await waitFor(async () => ((await log.locator('.log-line').count()) === 1 ? true : undefined), { description: 'only the stderr line' });
  expect(await log.locator('.log-line').textContent()).toContain('FAIL');
  await page.selectOption('select[name="stream"]', 'both');
  // Search keeps the matching lines.
  await page.fill('input[name="search"]', 'ORANGE');
  await page.locator('[data-log-shown="1"]').waitFor();
  expect(await log.locator('.log-line').textContent()).toContain('plain orange end');
  await screenshot('run-colours');

  // Download: the bytes as printed, escapes and all.
  const [file] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download' }).click()]);
  const saved = readFileSync((await file.path()) ?? '', 'latin1');
  expect(file.suggestedFilename()).toBe(`run-${runId}.log`);
  expect(saved).toContain('\x1b[32mPASS\x1b[0m test one\n');
  expect(saved).toContain('\x1b[1;31mFAIL\x1b[0m <img');
});

it('draws output that is not UTF-8 with each stray byte as a token, never as U+FFFD', async () => {
  const jobId = await createJob({
    name: 'prints-bytes',
    // printf's format turns the octal escapes into a NUL and the byte 0xff.
    executor: { type: 'exec', command: ['printf', 'a\\000b\\377c\\n'] },
  });
  const runId = await trigger(jobId);
  await waitForState(runId, ['succeeded']);
  await page.goto(`${baseUrl}/ui/runs/${runId}`);
  const log = page.locator('pre.log');
  await log.locator('[data-control="byte 0xff (not UTF-8)"]').waitFor();
  expect(await log.textContent()).toContain('a\u2400b\\xffc');
  expect(await log.textContent()).not.toContain('\uFFFD');
  expect(await log.locator('[data-control="U+0000 NUL"]').count()).toBe(1);
});

it('lists jobs with their schedule and success rate, and shows a bad edit field by field', async () => {
  const jobId = await createJob({
    name: 'nightly-report',
    description: 'Builds the nightly report.',
    executor: { type: 'exec', command: ['sh', '-c', 'echo "report $DROVER_PARAM_DAY"; exit "$DROVER_PARAM_CODE"'] },
    parameters: { day: 'today', code: '0' },
    schedule: { cron: '30 2 * * *', timezone: 'Europe/Rome' },
  });
  for (const code of ['0', '0', '0', '1']) await waitForState(await trigger(jobId, { code }), ['succeeded', 'failed']);
  await page.goto(`${baseUrl}/ui/jobs`);
  const row = page.locator('tr[data-job="nightly-report"]');
  await row.getByText('75%').waitFor();
  expect(await row.textContent()).toContain('Europe/Rome');
  await screenshot('jobs');

  await row.getByRole('link', { name: 'Edit' }).click();
  const editor = page.getByLabel('job definition as JSON');
  await editor.waitFor();
  const text = await editor.inputValue();
  await editor.fill(text.replace('"30 2 * * *"', '"61 2 * * *"'));
  await page.getByRole('button', { name: 'Save' }).click();
  await page.locator('.field-errors [data-field="schedule.cron"]').waitFor();
  await screenshot('job');
  // Nothing was saved.
  const job = ok(await client.GET('/v1/jobs/{id}', { params: { path: { id: jobId } } }));
  expect((job.schedule as { cron?: string }).cron).toBe('30 2 * * *');

  // A valid edit is saved, and only what changed is sent.
  await editor.fill(text.replace('"30 2 * * *"', '"45 2 * * *"'));
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Saved.').waitFor();
  const saved = ok(await client.GET('/v1/jobs/{id}', { params: { path: { id: jobId } } }));
  expect(saved.schedule).toEqual({ cron: '45 2 * * *', timezone: 'Europe/Rome' });
  expect(saved.parameters).toEqual({ day: 'today', code: '0' });
});

it('shows the runs list, the dead letters and the scheduler statistics', async () => {
  const failing = await createJob({
    name: 'always-fails',
    executor: { type: 'exec', command: ['sh', '-c', 'echo broken >&2; exit 3'] },
    retry: { maxAttempts: 1 },
  });
  const failed = await trigger(failing);
  await waitForState(failed, ['failed']);

  await page.goto(`${baseUrl}/ui/runs`);
  await page.locator(`tr[data-run="${failed}"]`).waitFor();
  // The failure says why, and the agent is named (its id on hover).
  const failedRow = page.locator(`tr[data-run="${failed}"]`);
  await failedRow.locator('[data-run-error]').waitFor();
  expect(await failedRow.locator('[data-run-error]').textContent()).toBe('exited with code 3');
  expect(await failedRow.locator('[data-run-error]').getAttribute('title')).toBe('exited with code 3');
  const agentId = ok(await client.GET('/v1/runs/{id}', { params: { path: { id: failed } } })).attempts[0]?.agentId;
  const agentCell = failedRow.locator(`[data-agent-id="${agentId}"]`);
  await agentCell.waitFor();
  expect(['agent-eu', 'agent-us']).toContain(await agentCell.textContent());
  expect(await page.locator(`tr[data-run="${failed}"] a[title="${agentId}"]`).count()).toBe(1);
  await screenshot('runs');
  await page.selectOption('select[name="state"]', 'failed');
  await page.waitForURL(/state=failed/);
  await waitFor(async () => ((await page.locator('tr[data-run]').count()) === 2 ? true : undefined), {
    description: 'the runs list to show the two failed runs',
  });
  // The job filter follows the URL when it changes under it (a link to this page, the back
  // button): its old text is neither shown nor applied again when it loses focus.
  await page.fill('input[name="job"]', 'always-fails');
  await page.press('input[name="job"]', 'Enter');
  await page.waitForURL(/job=always-fails/);
  // What a link to this page does: a new history entry, then the router's popstate listener.
  await page.evaluate("history.pushState(null, '', '/ui/runs?job=every-second'); dispatchEvent(new PopStateEvent('popstate'))");
  await waitFor(async () => ((await page.inputValue('input[name="job"]')) === 'every-second' ? true : undefined), {
    description: 'the job filter to show the job of the new URL',
  });
  await page.focus('input[name="job"]');
  await page.locator('h1').click();
  expect(new URL(page.url()).searchParams.get('job')).toBe('every-second');

  await page.goto(`${baseUrl}/ui/dead-letters`);
  await page.locator(`tr[data-dead-letter="${failed}"]`).waitFor();
  await screenshot('dead-letters');

  // A schedule firing every second gives the statistics something to show.
  const ticking = await createJob({ name: 'every-second', executor: { type: 'noop' }, schedule: { every: '1s' } });
  await waitFor(
    async () => {
      const runs = ok(await client.GET('/v1/runs', { params: { query: { job: ticking, status: 'succeeded' } } }));
      return runs.total >= 3 ? true : undefined;
    },
    { description: 'three fires of every-second to have run' },
  );
  await page.goto(`${baseUrl}/ui/stats`);
  await page.locator('svg.bars rect').first().waitFor();
  await screenshot('stats');
});

it('stays usable with 1,000 agents and 100,000 runs: one page of each is fetched and drawn', { timeout: 120_000 }, async () => {
  const jobId = await createJob({ name: 'bulk-history', executor: { type: 'noop' } });
  const db = new pg.Client({ connectionString: env.databaseUrl });
  await db.connect();
  try {
    // Cordoned agents with a heartbeat in the future: listed, never offered a run, not marked down.
    await db.query(`
      INSERT INTO agents (id, node_id, name, version, protocol, state, operator_state, attributes, labels, executors, total, free, usage, last_heartbeat_at)
      SELECT 'fake-' || lpad(i::text, 4, '0'), 'node-' || i, 'host-' || lpad(i::text, 4, '0'), '0.1.0', 1, 'cordoned', 'cordoned',
             '{"memory.bytes": 17179869184}', jsonb_build_object('region', CASE WHEN i % 2 = 0 THEN 'eu' ELSE 'us' END, 'rack', 'r' || (i % 40)),
             ARRAY['exec'], '{"slots": 8, "cpu": 8, "memoryBytes": 17179869184}', '{"slots": 8, "cpu": 8, "memoryBytes": 17179869184}',
             '{"cpuPercent": 12.5, "load1": 0.4, "memoryUsedBytes": 4294967296, "slotsUsed": 0}', now() + interval '1 hour'
        FROM generate_series(1, 1000) i`);
    // Finished runs, older than every real one (a ULID-shaped id that sorts first).
    await db.query(
      `INSERT INTO runs (id, job_id, state, priority, trigger, attempt, exit_code, duration_ms, created_at, finished_at)
       SELECT '01M0' || lpad(i::text, 22, '0'), $1, CASE WHEN i % 10 = 0 THEN 'failed' ELSE 'succeeded' END, 50, 'batch', 1,
              CASE WHEN i % 10 = 0 THEN 1 ELSE 0 END, 20, now() - interval '1 day' + i * interval '1 second', now() - interval '1 day' + i * interval '1 second'
         FROM generate_series(1, 100000) i`,
      [jobId],
    );
  } finally {
    await db.end();
  }

  const asked: string[] = [];
  const onRequest = (r: { url(): string }) => asked.push(new URL(r.url()).pathname + new URL(r.url()).search);
  page.on('request', onRequest);
  try {
    await page.goto(`${baseUrl}/ui/fleet`);
    await page.locator('.pager', { hasText: 'of 1,002' }).waitFor();
    expect(await page.locator('tr[data-agent]').count()).toBe(50);
    await page.getByRole('button', { name: 'Next →' }).click();
    await page.locator('.pager', { hasText: '51–100 of 1,002' }).waitFor();
    await page.locator('tr[data-agent="host-0075"]').waitFor();
    await screenshot('fleet-1000-agents');
    await page.fill('input[name="label"]', 'region=eu,rack=r4');
    await page.press('input[name="label"]', 'Enter');
    // Every 40th agent is on rack r4, all of them even, so in the eu region: 25, one page.
    await page.locator('.pager', { hasText: '1–25 of 25' }).waitFor();
    // Each agent list request asked for one page, and CPU history only for the agents drawn.
    const agentLists = asked.filter((u) => u.startsWith('/v1/agents?'));
    expect(agentLists.length).toBeGreaterThan(0);
    expect(agentLists.every((u) => u.includes('limit=50'))).toBe(true);
    const histories = new Set(asked.filter((u) => /^\/v1\/agents\/[^/]+\/metrics/.test(u)).map((u) => u.split('/')[3]));
    expect(histories.size).toBeLessThanOrEqual(50 + 50 + 25);

    asked.length = 0;
    await page.goto(`${baseUrl}/ui/runs?job=bulk-history`);
    await page.locator('.pager', { hasText: '1–50 of 100,000' }).waitFor();
    expect(await page.locator('tr[data-run]').count()).toBe(50);
    await page.getByRole('button', { name: 'Older →' }).click();
    await page.locator('.pager', { hasText: '51–100 of 100,000' }).waitFor();
    expect(asked.filter((u) => u.startsWith('/v1/runs?')).every((u) => u.includes('limit=50'))).toBe(true);

    await page.goto(`${baseUrl}/ui/jobs`);
    // The success rate counts the last 50 finished runs of the 100,000.
    await page.locator('tr[data-job="bulk-history"]').getByText('90%').waitFor();
  } finally {
    page.off('request', onRequest);
  }
});
