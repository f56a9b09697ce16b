// Installing the `drover` command the way an operator does on a worker host: one tarball from
// scripts/pack.mjs, `npm install -g` into a fresh prefix with no registry (--offline), and the
// installed binary runs: it prints its version and runs a whole dev-mode Drover that runs a job.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { api, createTestEnv, REPO_ROOT, runHelpers, spawnInEnv, type TestEnv } from './support/index.js';

const run = promisify(execFile);
let env: TestEnv;
let dir: string;
let drover: string;

beforeAll(async () => {
  env = await createTestEnv();
  dir = mkdtempSync(path.join(tmpdir(), 'drover-install-'));
  env.onCleanup(async () => rmSync(dir, { recursive: true, force: true }));
  const started = Date.now();
  await run(process.execPath, [path.join(REPO_ROOT, 'scripts/pack.mjs'), path.join(dir, 'pack')], { cwd: REPO_ROOT });
  const tarball = readdirSync(path.join(dir, 'pack')).find((f) => f.endsWith('.tgz'));
  const packed = Date.now();
  await run('npm', [
    'install',
    '-g',
    '--offline',
    '--no-audit',
    '--no-fund',
    '--prefix',
    path.join(dir, 'prefix'),
    path.join(dir, 'pack', tarball ?? ''),
  ]);
  console.log(
    `install: packed in ${((packed - started) / 1000).toFixed(1)} s, installed offline in ${((Date.now() - packed) / 1000).toFixed(1)} s`,
  );
  drover = path.join(dir, 'prefix/bin/drover');
}, 300_000);
afterAll(async () => env?.cleanup());

it('installs a drover command that knows its version', async () => {
  const { stdout } = await run(drover, ['--version']);
  expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
});

it('runs a job with the installed command, migrations and embedded database included', { timeout: 120_000 }, async () => {
  const dev = spawnInEnv(env, drover, ['dev', '--ephemeral', '--no-examples', '--api-addr', '127.0.0.1:0'], { name: 'installed-dev' });
  const line = await dev.waitForLine((l) => /^\s+API\s+http:\/\//.test(l.text), 90_000);
  const client = api(/(http:\/\/\S+)/.exec(line.text)?.[1] ?? '');
  expect((await client.get('/readyz')).status).toBe(200);
  // The dashboard travels in the tarball, built: its page and its bundle are served.
  expect((await client.get<string>('/ui/')).body).toContain('<div id="app"');
  expect((await client.get('/ui/app.js')).status).toBe(200);
  const h = runHelpers(client);
  const id = await h.trigger(await h.createJob({ name: 'installed', executor: { type: 'exec', command: ['echo', 'installed ok'] } }));
  expect((await h.waitForRun(id)).state).toBe('succeeded');
  expect((await h.allLogs(id)).map((c) => c.data).join('')).toBe('installed ok\n');
  expect((await dev.stop()).code).toBe(0);
});
