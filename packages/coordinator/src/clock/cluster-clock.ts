// The cluster's one clock: PostgreSQL's. Columns written with PostgreSQL's now() are compared
// with times this process computes (offer timeouts, queue settling, cron fires, signature
// windows), so both must come from the same clock. This host's wall clock may be off by any
// amount, or jump; its monotonic clock only has to tick at the right rate between syncs.
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Db } from '../store/db.js';
import { readDatabaseClock } from '../store/database-clock.js';

/** How often the offset to PostgreSQL's clock is measured again (drift of the monotonic clock). */
export const CLOCK_SYNC_MS = 30_000;
/** A sample whose round trip took longer says little about when the server read its clock. */
const TRUSTED_ROUND_TRIP_MS = 1_000;
/** Offsets beyond this are logged: the host's clock wants NTP, though Drover no longer cares. */
const REPORTED_SKEW_MS = 1_000;

export class ClusterClock {
  /** PostgreSQL's time (epoch ms) at the monotonic instant `mark`. */
  private base = Date.now();
  private mark = performance.now();
  private synced = false;
  private timer: NodeJS.Timeout | undefined;
  private reportedSkew = 0;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
  ) {}

  /** Now on PostgreSQL's clock (whole epoch ms, as Date.now), advanced by this host's monotonic clock. */
  readonly now = (): number => Math.round(this.base + (performance.now() - this.mark));

  /** How far this host's wall clock is ahead of PostgreSQL's (ms; negative: behind). */
  hostSkew(): number {
    return Date.now() - this.now();
  }

  /** Reads PostgreSQL's clock once; the first sample is taken whatever its round trip. */
  async sync(): Promise<void> {
    const t0 = performance.now();
    const ms = await readDatabaseClock(this.db);
    const t1 = performance.now();
    if (!Number.isFinite(ms) || (this.synced && t1 - t0 > TRUSTED_ROUND_TRIP_MS)) return;
    // The server read its clock somewhere in the round trip: the middle is the best guess.
    this.base = ms;
    this.mark = (t0 + t1) / 2;
    this.synced = true;
    const skew = this.hostSkew();
    if (Math.abs(skew) > REPORTED_SKEW_MS && Math.abs(skew - this.reportedSkew) > REPORTED_SKEW_MS) {
      this.reportedSkew = skew;
      this.log.warn(
        { hostSkewMs: Math.round(skew) },
        `this host's clock is ${Math.round(Math.abs(skew) / 1000)} s ${skew > 0 ? 'ahead of' : 'behind'} PostgreSQL's; Drover times everything by PostgreSQL's clock, but fix the host's time (NTP) for its logs`,
      );
    }
  }

  /** Syncs now, then every CLOCK_SYNC_MS; a failed sync keeps the last offset. */
  async start(): Promise<void> {
    await this.sync();
    this.timer = setInterval(() => {
      this.sync().catch((err: unknown) => this.log.warn({ err }, 'could not read PostgreSQL clock; keeping the last offset'));
    }, CLOCK_SYNC_MS);
    this.timer.unref();
  }

  /** Stops the periodic sync. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
