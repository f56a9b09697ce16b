// Each attempt's own working directory, like Nomad's allocation dir: `<root>/<run>-<attempt>`,
// the attempt's cwd (unless its job names one) and `DROVER_WORK_DIR`. Made before the attempt
// starts, owned by the user it runs as; removed when it succeeded; kept after any other outcome
// so an operator can look at what it left, then removed once it has been kept `retentionMs`
// (swept at start and periodically, so a crash's leftovers go too).
//
// With `--run-as` the root is not under the state dir by default: that stays mode 0700, closed to
// the jobs' user, who could not even reach a directory inside it.
import { chown, mkdir, readdir, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { RunOffer } from '@drover/shared';
import type { RunAsUser } from './executors/process.js';

/** The longest time between two sweeps (shorter when the retention is). */
const MAX_SWEEP_EVERY_MS = 10 * 60_000;

/** Only attempts that run processes get one (exec, shell): a noop or http attempt has no cwd. */
export function hasScratch(offer: Pick<RunOffer, 'executor'>): boolean {
  return offer.executor.type === 'exec' || offer.executor.type === 'shell';
}

/** Where scratch directories go by default: see the header. */
export function defaultScratchRoot(stateDir: string, runAs: RunAsUser | undefined): string {
  return runAs ? `${stateDir}-work` : join(stateDir, 'work');
}

export interface ScratchDirsOptions {
  root: string;
  /** How long a kept directory (an attempt that did not succeed) stays, from the attempt's end. */
  retentionMs: number;
  runAs?: RunAsUser | undefined;
  log: Logger;
  now?: () => number;
}

/** The scratch directories of this agent's attempts. */
export class ScratchDirs {
  /** Directories of attempts under way: never swept, however old. */
  private readonly live = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: ScratchDirsOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** The directory they are made in. */
  get root(): string {
    return this.opts.root;
  }

  /** The directory of this attempt (whether or not it exists yet). */
  pathOf(offer: Pick<RunOffer, 'runId' | 'attempt'>): string {
    return join(this.opts.root, `${offer.runId}-${offer.attempt}`);
  }

  /**
   * Creates the root (reachable by the jobs' user, not listable by it), sweeps what is past its
   * retention, and sweeps again every so often until `close`.
   */
  async start(): Promise<void> {
    await mkdir(this.opts.root, { recursive: true, mode: this.opts.runAs ? 0o711 : 0o700 });
    await this.sweep();
    const every = Math.max(100, Math.min(MAX_SWEEP_EVERY_MS, this.opts.retentionMs / 2));
    this.timer = setInterval(() => void this.sweep(), every);
    this.timer.unref();
  }

  /** Stops sweeping. */
  close(): void {
    clearInterval(this.timer);
  }

  /** Makes an empty directory for the attempt (if it runs a process), owned by the user it runs as. */
  async prepare(offer: Pick<RunOffer, 'runId' | 'attempt' | 'executor'>): Promise<void> {
    if (!hasScratch(offer)) return;
    const dir = this.pathOf(offer);
    this.live.add(dir);
    // Left by an earlier attempt of the same number (an offer handed back and made again).
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true, mode: 0o700 });
    if (this.opts.runAs) await chown(dir, this.opts.runAs.uid, this.opts.runAs.gid);
  }

  /** The attempt is over (nothing of it runs): removed when it succeeded, else kept for the retention. */
  async ended(offer: Pick<RunOffer, 'runId' | 'attempt' | 'executor'>, succeeded: boolean): Promise<void> {
    if (!hasScratch(offer)) return;
    const dir = this.pathOf(offer);
    this.live.delete(dir);
    try {
      if (succeeded || this.opts.retentionMs === 0) await rm(dir, { recursive: true, force: true });
      else {
        // The retention counts from now, not from when the directory was made.
        const at = new Date(this.now());
        await utimes(dir, at, at);
        this.opts.log.info(
          { runId: offer.runId, attempt: offer.attempt, dir },
          'kept the scratch directory of an attempt that did not succeed',
        );
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        this.opts.log.warn({ err: (err as Error).message, dir }, 'could not tidy the scratch directory of an attempt');
    }
  }

  /** Removes kept directories older than the retention; returns how many. */
  async sweep(): Promise<number> {
    const cutOff = this.now() - this.opts.retentionMs;
    let removed = 0;
    const names = await readdir(this.opts.root).catch(() => [] as string[]);
    for (const name of names) {
      const dir = join(this.opts.root, name);
      if (this.live.has(dir)) continue;
      try {
        if ((await stat(dir)).mtimeMs > cutOff) continue;
        await rm(dir, { recursive: true, force: true });
        removed++;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
          this.opts.log.warn({ err: (err as Error).message, dir }, 'could not remove an old scratch directory; will try again');
      }
    }
    if (removed > 0) this.opts.log.info({ removed, root: this.opts.root }, 'removed scratch directories past their retention');
    return removed;
  }
}
