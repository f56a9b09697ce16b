// The state-dir lock: one process at a time, the holder named; a lock of a gone process taken
// over (and said), a lock of another host never.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { holdLockFile, type LockHolder } from './dir-lock.js';

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const pid = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
  return Number(pid);
}

describe('holdLockFile', () => {
  let dir: string;
  let lock: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'drover-lock-'));
    lock = join(dir, 'agent.lock');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('holds for one holder at a time, naming it, and lets go on release', () => {
    const release = holdLockFile(lock, 'the state dir /x');
    expect(readFileSync(lock, 'utf8')).toBe(`${process.pid}\n${hostname()}\n`);
    expect(() => holdLockFile(lock, 'the state dir /x')).toThrow(
      expect.objectContaining({
        code: 'STATE_IN_USE',
        message: expect.stringContaining(`process ${process.pid} is using the state dir /x, on host ${hostname()}; stop it first`),
      }),
    );
    release();
    holdLockFile(lock, 'the state dir /x')();
  });

  it('refuses a lock of a live process, and takes over one whose process is gone, saying so', async () => {
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      writeFileSync(lock, `${sleeper.pid}\n${hostname()}\n`);
      expect(() => holdLockFile(lock, 'the state dir /x')).toThrow(`process ${sleeper.pid} is using the state dir /x`);
    } finally {
      sleeper.kill('SIGKILL');
      await new Promise((r) => sleeper.once('exit', r));
    }
    const gone = deadPid();
    for (const content of [`${gone}\n${hostname()}\n`, `${gone}`]) {
      writeFileSync(lock, content);
      const taken: LockHolder[] = [];
      const release = holdLockFile(lock, 'the state dir /x', { onTakeover: (h) => taken.push(h) });
      expect(taken).toEqual([content.includes('\n') ? { pid: gone, host: hostname() } : { pid: gone }]);
      expect(readFileSync(lock, 'utf8')).toBe(`${process.pid}\n${hostname()}\n`);
      release();
    }
  });

  it("never takes over another host's lock: whether its process lives cannot be told from here", () => {
    writeFileSync(lock, `${deadPid()}\nanother-host\n`);
    expect(() => holdLockFile(lock, 'the state dir /x')).toThrow(
      /is using the state dir \/x, on host another-host; .* delete .*agent\.lock/,
    );
  });
});
