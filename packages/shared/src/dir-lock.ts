// One process at a time on a directory of state: an embedded PostgreSQL opened by two processes
// is corrupted, and two agents on one state dir would share one agent id and overwrite each
// other's runs. The lock is a file naming the owner (its pid, and its host on a second line),
// created atomically (written aside, then hard-linked into place, so nobody reads it
// half-written). A lock whose process is gone is taken over by renaming it away first, so two
// processes racing for a stale lock cannot both win. A lock of another host is never taken
// over: whether its process lives cannot be told from here.
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { DroverError } from './errors.js';

/** Who holds a lock file: its process, and the host it runs on (absent in locks of older versions). */
export interface LockHolder {
  pid: number;
  host?: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function holderOf(file: string): LockHolder {
  const [pid = '', host] = readFileSync(file, 'utf8').split('\n');
  return { pid: Number(pid.trim()), ...(host?.trim() ? { host: host.trim() } : {}) };
}

/** Whether the holder may still be running: on another host, or a live process here. */
function mayLive(holder: LockHolder, here: string): boolean {
  if (holder.host !== undefined && holder.host !== here) return true;
  return holder.pid === process.pid || (Number.isInteger(holder.pid) && holder.pid > 0 && alive(holder.pid));
}

/**
 * Takes `lockFile` for this process or fails naming the process (and host) that holds it;
 * returns the release. `what` names the state for the message ("the data directory /x").
 * `onTakeover` hears of a lock left by a process that is gone, taken over.
 */
export function holdLockFile(lockFile: string, what: string, opts: { onTakeover?: (stale: LockHolder) => void } = {}): () => void {
  const here = hostname();
  const mine = `${lockFile}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(mine, `${process.pid}\n${here}\n`);
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        linkSync(mine, lockFile);
        return () => {
          try {
            const holder = holderOf(lockFile);
            if (holder.pid === process.pid && (holder.host ?? here) === here) rmSync(lockFile, { force: true });
          } catch {
            // already gone
          }
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      let holder: LockHolder;
      try {
        holder = holderOf(lockFile);
      } catch {
        continue; // removed meanwhile: try again
      }
      if (mayLive(holder, here)) {
        const on = holder.host !== undefined ? `, on host ${holder.host}` : '';
        throw new DroverError(
          'STATE_IN_USE',
          `process ${holder.pid} is using ${what}${on}; stop it first, or use another directory. If no such process is running, delete ${lockFile}`,
        );
      }
      // Stale: move it aside (only one racer's rename succeeds), check what was moved, drop it.
      const aside = `${lockFile}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
      try {
        renameSync(lockFile, aside);
      } catch {
        continue;
      }
      const moved = holderOf(aside);
      if (moved.pid !== holder.pid && mayLive(moved, here)) {
        renameSync(aside, lockFile); // a live owner's lock: put it back
        continue;
      }
      rmSync(aside, { force: true });
      opts.onTakeover?.(moved);
    }
    throw new DroverError('STATE_IN_USE', `could not lock ${what} (${lockFile}): others keep taking it`);
  } finally {
    rmSync(mine, { force: true });
  }
}
