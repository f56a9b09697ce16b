// The reaper with real processes: a watched `sleep` group is killed when the pipe closes,
// however it closes (the owner ending it, or the owner SIGKILLed), within the 2 s promise;
// unwatched groups are left alone; signals meant for the agent do not take the reaper first; a
// reaper killed under a live agent is replaced and still knows the groups.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Reaper } from './reaper.js';
import { eventually, processGone } from '../test/fixtures.js';

const BOUND_MS = 2_000;
const isRoot = process.getuid?.() === 0;
const nobody = spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' });
const nobodyUid = nobody.status === 0 ? Number(nobody.stdout.trim()) : undefined;
const hasSetpriv = spawnSync('setpriv', ['--version']).status === 0;

/** A `sleep` leading its own process group, as an attempt's is (optionally as another user). */
function sleeper(opts: { uid?: number; script?: string } = {}): ChildProcess {
  const args = opts.script ? ['-c', opts.script] : ['-c', 'sleep 60'];
  const child = spawn('/bin/sh', args, {
    detached: true,
    stdio: 'ignore',
    ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.uid } : {}),
  });
  started.push(child);
  return child;
}

/** Whether anything of process group `pgid` runs (zombies excluded). */
async function groupRuns(pgid: number): Promise<boolean> {
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (stat && Number(fields[2]) === pgid && fields[0] !== 'Z') return true;
  }
  return false;
}

/** Polls until nothing of the group runs and returns how long that took (a figure, not an assertion). */
async function goneWithin(pgid: number, from: number): Promise<number> {
  await eventually(async () => !(await groupRuns(pgid)), 10_000, `process group ${pgid} to be gone`);
  return Date.now() - from;
}

const started: ChildProcess[] = [];
const others: ChildProcess[] = [];

function kill(pid: number | undefined): void {
  if (pid === undefined || pid === 0 || pid === 1 || pid === -1) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
}
const reapers: Reaper[] = [];
afterEach(async () => {
  // Each sleeper leads its own group. (Never an external kill(1) with a negative pid here: procps
  // reads `kill -KILL -<pid>` as kill(-1), every process of the user.)
  for (const c of started.splice(0)) kill(c.pid && -c.pid);
  for (const c of others.splice(0)) kill(c.pid);
  await Promise.all(reapers.splice(0).map((r) => r.close()));
});

async function startReaper(opts: Parameters<typeof Reaper.start>[0] = {}): Promise<Reaper> {
  const r = await Reaper.start(opts);
  reapers.push(r);
  return r;
}

describe('reaper', () => {
  it('starts small and fast, in its own session', async () => {
    const t0 = performance.now();
    const reaper = await startReaper();
    const startMs = performance.now() - t0;
    const pid = reaper.pid as number;
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    console.log(`reaper: spawned in ${startMs.toFixed(1)} ms, RSS ${rssKiB} KiB`);
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // pgrp and session are its own: a Ctrl-C or hang-up of the agent's terminal does not reach it.
    expect([Number(fields[2]), Number(fields[3])]).toEqual([pid, pid]);
    expect(rssKiB).toBeLessThan(8 * 1024);
  });

  it('kills the watched groups when its pipe closes, and leaves the others alone', async () => {
    const reaper = await startReaper();
    const watched = sleeper();
    const forgotten = sleeper();
    const stranger = sleeper();
    reaper.watch(watched.pid as number);
    reaper.watch(forgotten.pid as number);
    reaper.unwatch(forgotten.pid as number);
    expect(reaper.watched()).toEqual([watched.pid]);
    const t0 = Date.now();
    const closing = reaper.close();
    const ms = await goneWithin(watched.pid as number, t0);
    await closing;
    console.log(`reaper: pipe closed → watched group gone: ${ms} ms`);
    expect(await groupRuns(forgotten.pid as number)).toBe(true);
    expect(await groupRuns(stranger.pid as number)).toBe(true);
  });

  it('kills the groups within the bound when the process holding the pipe is SIGKILLed', async () => {
    const groups = [sleeper(), sleeper(), sleeper({ script: 'sleep 60 & sleep 60 & wait' })];
    // The "agent": another Node process that starts a reaper (this module, types stripped) and
    // watches the groups; SIGKILLed, it leaves nothing but the kernel to close its end.
    const owner = spawn(
      process.execPath,
      [
        '--experimental-strip-types',
        '--no-warnings',
        '--input-type=module',
        '-e',
        `const { Reaper } = await import(${JSON.stringify(new URL('./reaper.ts', import.meta.url).pathname)});
         const reaper = await Reaper.start();
         for (const pgid of process.argv.slice(1)) reaper.watch(Number(pgid));
         console.log('reaper ' + reaper.pid);
         setInterval(() => undefined, 60_000);`,
        ...groups.map((g) => String(g.pid)),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    others.push(owner);
    const [line] = (await once(createInterface({ input: owner.stdout! }), 'line')) as [string];
    const reaperPid = Number(line.split(' ')[1]);
    await new Promise((r) => setTimeout(r, 200));
    for (const g of groups) expect(await groupRuns(g.pid as number)).toBe(true);
    const t0 = Date.now();
    owner.kill('SIGKILL');
    const times = await Promise.all(groups.map((g) => goneWithin(g.pid as number, t0)));
    console.log(`reaper: owner SIGKILLed → last watched group gone: ${Math.max(...times)} ms (bound ${BOUND_MS} ms)`);
    await eventually(() => processGone(reaperPid), 5_000, 'the reaper to exit');
  });

  it('SIGKILLs a group that ignores SIGTERM once the grace is over', async () => {
    const reaper = await startReaper({ graceMs: 300 });
    const stubborn = sleeper({ script: "trap '' TERM; while :; do sleep 1; done" });
    reaper.watch(stubborn.pid as number);
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    await reaper.close();
    const ms = await goneWithin(stubborn.pid as number, t0);
    console.log(`reaper: a group ignoring SIGTERM gone ${ms} ms after the pipe closed (grace 300 ms)`);
    expect(await processGone(stubborn.pid as number)).toBe(true);
  });

  it('is not taken down by SIGINT, SIGTERM or SIGHUP meant for the agent', async () => {
    const reaper = await startReaper();
    const g = sleeper();
    reaper.watch(g.pid as number);
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.kill(reaper.pid as number, signal);
    await new Promise((r) => setTimeout(r, 200));
    expect(await processGone(reaper.pid as number)).toBe(false);
    expect(await groupRuns(g.pid as number)).toBe(true);
    await reaper.close();
    await goneWithin(g.pid as number, Date.now());
  });

  it('is replaced, still knowing the groups, when it dies under a live agent', async () => {
    const warnings: string[] = [];
    const reaper = await startReaper({ onWarning: (m) => warnings.push(m) });
    const g = sleeper();
    reaper.watch(g.pid as number);
    const first = reaper.pid as number;
    process.kill(first, 'SIGKILL');
    await eventually(() => reaper.pid !== first && !!reaper.pid && !processGoneSync(reaper.pid), 5_000, 'a new reaper');
    expect(warnings.join('\n')).toContain(`the reaper (pid ${first}) exited (SIGKILL) while the agent runs; starting another`);
    expect(await groupRuns(g.pid as number)).toBe(true);
    await reaper.close();
    await goneWithin(g.pid as number, Date.now());
  });

  it.runIf(isRoot && nobodyUid !== undefined)('run by root (an agent with --run-as), kills groups of another user', async () => {
    const reaper = await startReaper();
    const g = sleeper({ uid: nobodyUid });
    reaper.watch(g.pid as number);
    const t0 = Date.now();
    const closing = reaper.close();
    console.log(`reaper (root) → group of uid ${nobodyUid} gone: ${await goneWithin(g.pid as number, t0)} ms`);
    await closing;
  });

  describe.runIf(isRoot && nobodyUid !== undefined && hasSetpriv)('run by an unprivileged user', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'drover-reaper-'));
      await chmod(dir, 0o755);
    });
    afterAll(async () => rm(dir, { recursive: true, force: true }));

    it('kills groups of its own user', async () => {
      // A shell that drops to nobody first: the reaper then runs as an unprivileged agent's would.
      const shell = join(dir, 'sh-as-nobody');
      await writeFile(shell, `#!/bin/sh\nexec setpriv --reuid=${nobodyUid} --regid=${nobodyUid} --clear-groups /bin/sh "$@"\n`);
      await chmod(shell, 0o755);
      const reaper = await startReaper({ shell });
      await eventually(async () => (await readFile(`/proc/${reaper.pid}/status`, 'utf8')).includes(`Uid:\t${nobodyUid}`), 5_000, 'setpriv');
      const g = sleeper({ uid: nobodyUid });
      reaper.watch(g.pid as number);
      const t0 = Date.now();
      const closing = reaper.close();
      console.log(`reaper (uid ${nobodyUid}) → group of its own user gone: ${await goneWithin(g.pid as number, t0)} ms`);
      await closing;
    });
  });

  it('refuses to start without its shell, saying what the agent needs', async () => {
    await expect(Reaper.start({ shell: '/no/such/sh' })).rejects.toThrow(
      'cannot start the reaper (/no/such/sh): spawn /no/such/sh ENOENT. The agent needs a POSIX shell at /no/such/sh to make sure its jobs never outlive it',
    );
  });
});

function processGoneSync(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}
