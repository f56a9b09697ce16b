// One process at a time on a directory of state (embedded PostgreSQL must never be opened by
// two processes: it would be corrupted). The lock is a file holding the owner's pid, created
// atomically (written aside, then hard-linked into place, so nobody reads it half-written). A
// lock whose process is gone is taken over by renaming it away first, so two processes racing
// for a stale lock cannot both win.
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { DroverError } from '@drover/shared';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const ownerOf = (file: string): number => Number(readFileSync(file, 'utf8').trim());

/**
 * Takes `lockFile` for this process or fails naming the process that holds it; returns the
 * release. `what` names the state for the message ("the data directory /x").
 */
export function holdLockFile(lockFile: string, what: string): () => void {
  const mine = `${lockFile}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(mine, String(process.pid));
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        linkSync(mine, lockFile);
        return () => {
          try {
            if (ownerOf(lockFile) === process.pid) rmSync(lockFile, { force: true });
          } catch {
            // already gone
          }
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      let owner: number;
      try {
        owner = ownerOf(lockFile);
      } catch {
        continue; // removed meanwhile: try again
      }
      if (owner === process.pid || (Number.isInteger(owner) && owner > 0 && alive(owner))) {
        throw new DroverError(
          'STATE_IN_USE',
          `process ${owner} is using ${what}; stop it first, or use another directory. If no such process is running, delete ${lockFile}`,
        );
      }
      // Stale: move it aside (only one racer's rename succeeds), check what was moved, drop it.
      const aside = `${lockFile}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
      try {
        renameSync(lockFile, aside);
      } catch {
        continue;
      }
      const moved = ownerOf(aside);
      if (moved !== owner && alive(moved))
        renameSync(aside, lockFile); // a live owner's lock: put it back
      else rmSync(aside, { force: true });
    }
    throw new DroverError('STATE_IN_USE', `could not lock ${what} (${lockFile}): others keep taking it`);
  } finally {
    rmSync(mine, { force: true });
  }
}
