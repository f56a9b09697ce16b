// One `drover dev` per data directory: embedded PostgreSQL must never be opened by two
// processes at once (it would corrupt it). A lock file holds the owner's pid; a lock left by a
// process that is gone is taken over.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DroverError } from '@drover/shared';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the data directory's lock or fails naming the process that holds it; returns the release. */
export function holdDataDirLock(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const lock = path.join(dataDir, 'dev.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      return () => rmSync(lock, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(lock, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
        throw new DroverError(
          'DATA_DIR_IN_USE',
          `another drover dev (pid ${owner}) is using ${dataDir}; stop it, or give this one its own --data-dir (or --ephemeral)`,
        );
      }
      rmSync(lock, { force: true }); // left by a process that is gone
    }
  }
  throw new DroverError('DATA_DIR_IN_USE', `could not lock ${dataDir}`);
}
