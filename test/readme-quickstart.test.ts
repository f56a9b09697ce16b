// The README's quick start and 5-minute tour, as a newcomer runs them, in a fresh clone: the
// commands are read from README.md, so a README that changes is what gets tested.
//
// What differs from a newcomer's machine, and why:
// - `npm ci` is not run: node_modules is assembled from this checkout's, a symlink per
//   installed package, with the workspace packages (@drover/*) and the `drover` bin pointing
//   into the clone, so the clone's own code is built and run, never this checkout's.
// - The API listens on a free port, not 7400 (other tests run beside this one): dev mode gets it
//   from DROVER_API_ADDR, the CLI from DROVER_ADDR, and the README's curl lines have their
//   `127.0.0.1:7400` replaced by it.
// - `npm test` is not run from inside the suite: the test checks it is what .ci/run runs.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, REPO_ROOT } from './support/index.js';

const README = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');

/** The text of a `## ` section of the README, up to the next one. */
function section(title: string): string {
  const start = README.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`README has no "## ${title}" section`);
  const end = README.indexOf('\n## ', start + 1);
  return README.slice(start, end < 0 ? undefined : end);
}

/** The ```sh blocks of a section (whatever their docs-commands mark), each as its text. */
const shBlocks = (text: string): string[] => [...text.matchAll(/```sh(?: [^\n]*)?\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');

/** A block's commands: comments dropped, lines continued with `\` joined. */
function commands(block: string): string[] {
  return block
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.replace(/\s+#\s.*$/, '').trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

const quickStart = section('Quick start');
const [twoCommands = '', pathBlock = ''] = shBlocks(quickStart);
const tour = section('A 5-minute tour');

describe('the quick start', () => {
  it('has two commands: start dev mode, and the tests exactly as .ci/run runs them', () => {
    expect(commands(twoCommands)).toEqual(['npm ci && npm run dev', 'npm test']);
    // .ci/run installs and starts the servers, then runs the tests with this same command.
    const ci = readFileSync(path.join(REPO_ROOT, '.ci/run'), 'utf8').split('\n');
    expect(ci).toContain(commands(twoCommands)[1]);
    expect(quickStart).toMatch(/\.ci\/run.*installs/s);
  });
});

describe('in a fresh clone', () => {
  let clone: string;
  let apiPort: number;
  let dev: ReturnType<typeof spawn> | undefined;
  let devOutput = '';
  const env = () => ({
    ...process.env,
    DROVER_API_ADDR: `127.0.0.1:${apiPort}`,
    DROVER_ADDR: `http://127.0.0.1:${apiPort}`,
    // Nothing of the suite's servers: dev mode embeds everything.
    DROVER_EXIT_WITH_PARENT: '1',
  });

  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'drover-readme-'));
    clone = path.join(dir, 'drover');
    execFileSync('git', ['clone', '--quiet', '--no-hardlinks', REPO_ROOT, clone]);
    linkNodeModules(path.join(REPO_ROOT, 'node_modules'), path.join(clone, 'node_modules'), clone);
    apiPort = await freePort();
    return () => rmSync(dir, { recursive: true, force: true });
  });

  afterAll(async () => {
    // Ctrl-C, as a person stops it: to the whole group this test started (npm, sh, drover).
    if (dev?.pid !== undefined && dev.exitCode === null) {
      const exited = new Promise((resolve) => dev?.once('exit', resolve));
      process.kill(-dev.pid, 'SIGINT');
      const timer = setTimeout(() => dev?.pid !== undefined && process.kill(-dev.pid, 'SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
  });

  it('npm run test:unit builds what it needs first and passes, with no server', () => {
    expect(() => statSync(path.join(clone, 'packages/shared/dist'))).toThrow();
    // One file, not the whole unit suite: what failed on a fresh clone was the missing build.
    const unit = spawnSync('npm', ['run', 'test:unit', '--', 'packages/cli/src/output/table.test.ts'], {
      cwd: clone,
      env: env(),
      encoding: 'utf8',
    });
    expect(unit.status, unit.stdout + unit.stderr).toBe(0);
    expect(stripVTControlCharacters(unit.stdout)).toMatch(/Tests\s+\d+ passed/);
  }, 600_000);

  it('npm run dev starts Drover, and builds nothing more on the next start', async () => {
    const start = commands(twoCommands)[0]!.replace(/^npm ci && /, '');
    expect(start).toBe('npm run dev');
    dev = spawn('bash', ['-c', start], { cwd: clone, env: env(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    dev.stdout?.on('data', (d: Buffer) => (devOutput += d.toString()));
    dev.stderr?.on('data', (d: Buffer) => (devOutput += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (devOutput.includes('Drover is running')) resolve();
        else if (dev?.exitCode !== null) reject(new Error(`npm run dev exited ${dev?.exitCode}:\n${devOutput}`));
        else return;
        clearInterval(timer);
      }, 200);
    });
    expect(devOutput).toContain(`API        http://127.0.0.1:${apiPort}`);

    // What `npm run build` writes, unchanged by a second build: the bundle and the packages' output.
    const outputs = ['packages/dashboard/public/app.js', 'packages/cli/dist/main.js', 'packages/coordinator/dist/index.js'];
    const before = outputs.map((f) => statSync(path.join(clone, f)).mtimeMs);
    const again = spawnSync('npm', ['run', 'build', '--silent'], { cwd: clone, env: env(), encoding: 'utf8' });
    expect(again.status, again.stderr).toBe(0);
    expect(outputs.map((f) => statSync(path.join(clone, f)).mtimeMs)).toEqual(before);
  }, 600_000);

  it('the PATH line makes drover a command, and the tour runs as written', () => {
    expect(dev?.exitCode).toBeNull();
    const put = commands(pathBlock);
    expect(put).toEqual(['export PATH="$PWD/node_modules/.bin:$PATH"']);
    const here = (text: string) => text.replaceAll('127.0.0.1:7400', `127.0.0.1:${apiPort}`);
    /** Runs a piece of the README with bash in the clone, after the PATH line, as a newcomer's shell would. */
    const run = (script: string): string => {
      const r = spawnSync('bash', ['-euo', 'pipefail', '-c', `${put.join('\n')}\n${here(script)}`], {
        cwd: clone,
        env: env(),
        encoding: 'utf8',
      });
      expect(r.status, `${script}\n${r.stdout}${r.stderr}`).toBe(0);
      return r.stdout;
    };
    // The inline curl of the example cron job's runs, then each block, in the README's order.
    const [cronRuns, ...more] = [...tour.matchAll(/`(curl [^`]+)`/g)].map((m) => m[1]!);
    expect(more).toEqual([]);
    expect(JSON.parse(run(cronRuns!))).toMatchObject({ items: expect.any(Array) });
    const [defineJob = '', followRun = '', ...rest] = shBlocks(tour);
    expect(rest).toEqual([]);
    expect(JSON.parse(run(defineJob))).toMatchObject({ name: 'nightly-report' });
    expect(commands(followRun).filter((c) => c.startsWith('drover ')).length).toBeGreaterThan(0);
    const followed = run(followRun);
    // `jobs run --follow` prints the job's output, then the table, the API's run and its list.
    expect(followed.startsWith('report done\n')).toBe(true);
    expect(followed).toMatch(/^\w{26} +nightly-report +succeeded /m);
    expect(followed).toMatch(/"jobId":"\w+"/);
  }, 300_000);
});

/**
 * `into` as `npm ci` would make it from `from`, without installing: a symlink per package, but
 * the workspace packages and their bins point into `root` (the clone), not at `from`'s checkout.
 */
function linkNodeModules(from: string, into: string, root: string): void {
  mkdirSync(path.join(into, '.bin'), { recursive: true });
  mkdirSync(path.join(into, '@drover'));
  for (const name of readdirSync(from)) {
    if (name === '.bin' || name === '@drover') continue;
    symlinkSync(path.join(from, name), path.join(into, name));
  }
  for (const pkg of readdirSync(path.join(from, '@drover'))) symlinkSync(path.join(root, 'packages', pkg), path.join(into, '@drover', pkg));
  for (const bin of readdirSync(path.join(from, '.bin'))) {
    // The workspace's own bin (drover) goes into the clone; every other tool is the installed one.
    symlinkSync(bin === 'drover' ? '../@drover/cli/bin/drover.js' : path.join(from, '.bin', bin), path.join(into, '.bin', bin));
  }
}
