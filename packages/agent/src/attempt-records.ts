// One file per live attempt in `<stateDir>/attempts/`, naming its process group, so that an
// agent started on the state dir after a crash (its reaper killed too, or the host's pid space
// reused since) can kill what the previous process left and report those attempts lost
// (leftover-attempts.ts).
//
// A record is written synchronously right after the spawn, in the same turn as the reaper is
// told, and removed once the attempt's result is on disk in the outbox (attempt-guard.ts): an
// attempt is always named by its record, its durable result, or both. There is no fsync:
// records guard against the agent's death, not the host's, and after a reboot nothing they name
// still runs (the boot id says so). The leader's start time tells its pid from a recycled one.
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunOffer } from '@drover/shared';
import { readStatSync } from './executors/process-group.js';

/** What an agent restarted on the state dir needs to find, kill and report an attempt. */
export interface AttemptRecord {
  runId: string;
  token: number;
  attempt: number;
  jobId: string;
  /** The attempt's process group (its leader's pid). */
  pgid: number;
  /** The leader's start time (clock ticks since boot, /proc/<pid>/stat); null without /proc. */
  startTime: number | null;
  /** The host's boot id when the attempt started; null without /proc. */
  bootId: string | null;
  /** When the attempt started (ms since the epoch). */
  startedAt: number;
}

/** The host's boot id, or null where there is none (not Linux). */
export function bootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return null;
  }
}

function isRecord(v: unknown): v is AttemptRecord {
  const r = v as Partial<AttemptRecord> | null;
  return (
    !!r &&
    typeof r.runId === 'string' &&
    Number.isInteger(r.token) &&
    Number.isInteger(r.attempt) &&
    typeof r.jobId === 'string' &&
    Number.isInteger(r.pgid) &&
    (r.pgid as number) > 1 &&
    (r.startTime === null || Number.isFinite(r.startTime)) &&
    (r.bootId === null || typeof r.bootId === 'string') &&
    Number.isFinite(r.startedAt)
  );
}

/** The records of one state dir. */
export class AttemptRecords {
  private readonly boot = bootId();

  private constructor(readonly dir: string) {}

  /** Opens `<stateDir>/attempts`, creating it (0700) on first use. */
  static async open(stateDir: string): Promise<AttemptRecords> {
    const dir = join(stateDir, 'attempts');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return new AttemptRecords(dir);
  }

  private file(runId: string, token: number): string {
    return join(this.dir, `${encodeURIComponent(runId)}.${token}`);
  }

  /** Records that `offer`'s attempt runs as process group `pgid`; synchronous, so call it right after the spawn. Throws when the file cannot be written. */
  spawned(offer: Pick<RunOffer, 'runId' | 'token' | 'attempt' | 'jobId'>, pgid: number, startedAt = Date.now()): AttemptRecord {
    const record: AttemptRecord = {
      runId: offer.runId,
      token: offer.token,
      attempt: offer.attempt,
      jobId: offer.jobId,
      pgid,
      startTime: readStatSync(pgid)?.startTime ?? null,
      bootId: this.boot,
      startedAt,
    };
    writeFileSync(this.file(offer.runId, offer.token), `${JSON.stringify(record)}\n`, { mode: 0o600 });
    return record;
  }

  /** Forgets an attempt whose group is gone; synchronous, so it happens before its result is queued. */
  ended(runId: string, token: number): void {
    try {
      unlinkSync(this.file(runId, token));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  /** Forgets a record found at start, once its attempt was dealt with. */
  async remove(record: Pick<AttemptRecord, 'runId' | 'token'>): Promise<void> {
    await unlink(this.file(record.runId, record.token)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  /** Every record in the directory; files that hold none (a write cut short) are returned by name, to be removed. */
  async list(): Promise<{ records: AttemptRecord[]; unreadable: string[] }> {
    const records: AttemptRecord[] = [];
    const unreadable: string[] = [];
    for (const name of (await readdir(this.dir)).sort()) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(await readFile(join(this.dir, name), 'utf8'));
      } catch {
        parsed = undefined;
      }
      if (isRecord(parsed)) records.push(parsed);
      else unreadable.push(name);
    }
    return { records, unreadable };
  }

  /** Removes a file `list` could not read. */
  async discard(name: string): Promise<void> {
    await unlink(join(this.dir, name)).catch(() => undefined);
  }
}
