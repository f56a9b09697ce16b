// The log followers of one coordinator: how many may be open (per run, per token, in all), and
// when each reads. A follower reads when woken — by a `drover_logs` notification for its run
// (store/log-signals.ts), by the slow sweep, or by its socket draining — never on a timer of its
// own; wake-ups during a read fold into one more read, and a client that does not read gets
// nothing read for it until its socket drains, so what the coordinator holds for it stays small.
// The sweep covers a lost notification with one query for every followed run, not one each.
import type { ServerResponse } from 'node:http';
import { HttpProblem } from './problem.js';

/** What one read of a follower found: 'done' ends it, 'more' reads again at once, 'idle' waits. */
export type FollowStep = 'done' | 'more' | 'idle';

/** Caps on open followers; beyond one, a follow is refused with 429. */
export interface FollowerLimits {
  total: number;
  perRun: number;
  perToken: number;
  /** The slow sweep, in ms: covers a notification that was lost. */
  pollMs: number;
}

/** Where each followed run is (`<state> <attempt>:<seq>` of its last chunk), to notice what changed unnotified. */
export type RunPositions = (runIds: string[]) => Promise<Map<string, string>>;

/** A quiet stream gets a comment line this often, so idle proxies do not close it. */
const KEEPALIVE_MS = 15_000;

/** Reads of followers in flight at once: they share the pool of 16 with heartbeats and reports. */
const CONCURRENT_READS = 4;

/** Runs at most `limit` tasks at once, the rest in arrival order. */
function gate(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const queued: Array<() => void> = [];
  return async (task) => {
    if (running >= limit) await new Promise<void>((r) => queued.push(r));
    else running++;
    try {
      return await task();
    } finally {
      const next = queued.shift();
      if (next) next();
      else running--;
    }
  };
}

/** Seconds a refused follower is told to wait: followers last as long as their runs, so not less. */
const RETRY_AFTER_S = 30;

/** A 429 problem naming the cap that was reached. */
export class TooManyFollowers extends HttpProblem {
  readonly retryAfter = RETRY_AFTER_S;
  constructor(detail: string) {
    super('TOO_MANY_FOLLOWERS', detail);
  }
}

/** One open follower: reads when woken, one read at a time, never while its socket is full. */
export class Follower {
  private reading = false;
  private pending = true;
  private waitingDrain = false;
  private ended = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly step: () => Promise<FollowStep>,
    private readonly keepAlive: () => void,
    /** Where its last read left it, in the form of RunPositions. */
    readonly position: () => string | undefined,
    private readonly limit: <T>(task: () => Promise<T>) => Promise<T>,
    private readonly onRead: () => void,
    private readonly onEnd: () => void,
  ) {
    res.on('drain', () => {
      if (!this.waitingDrain) return;
      this.waitingDrain = false;
      this.pending = true;
      this.kick();
    });
  }

  /** True while its client does not read what was written. */
  get waiting(): boolean {
    return this.waitingDrain;
  }

  /** Writes a comment line if the stream was quiet, unless its client is not reading anyway. */
  ping(): void {
    if (!this.ended && !this.waitingDrain) this.keepAlive();
  }

  /** Asks for a read: now when idle, after the read in flight otherwise. */
  wake(): void {
    this.pending = true;
    this.kick();
  }

  /** Stops reading for good (the client left or the stream ended). */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd();
  }

  private kick(): void {
    if (this.ended || this.reading || this.waitingDrain || !this.pending) return;
    this.pending = false;
    this.reading = true;
    this.limit(() => {
      this.onRead();
      return this.step();
    }).then(
      (found) => {
        this.reading = false;
        if (found === 'done') return this.end();
        if (found === 'more') this.pending = true;
        if (this.res.writableNeedDrain) this.waitingDrain = true;
        else this.kick();
      },
      () => {
        this.reading = false;
        this.end();
      },
    );
  }
}

/** Every follower of this coordinator, by run and by token, within the limits. */
export class LogFollowers {
  private readonly byRun = new Map<string, Set<Follower>>();
  private readonly byToken = new Map<string, number>();
  private total = 0;
  private readonly limit = gate(CONCURRENT_READS);
  private sweeping = false;
  private readonly timers: NodeJS.Timeout[];

  constructor(
    private readonly limits: FollowerLimits,
    private readonly onRead: () => void,
    private readonly positions: RunPositions,
    private readonly onSweepError: (err: unknown) => void = () => undefined,
  ) {
    this.timers = [setInterval(() => void this.sweep(), limits.pollMs), setInterval(() => this.ping(), KEEPALIVE_MS)];
    for (const t of this.timers) t.unref();
  }

  /** Stops the sweep and the keep-alives. */
  stop(): void {
    for (const t of this.timers) clearInterval(t);
  }

  /** Wakes the followers whose last read left them elsewhere than where their run now is. */
  async sweep(): Promise<void> {
    const ids = [...this.byRun.keys()];
    if (this.sweeping || ids.length === 0) return;
    this.sweeping = true;
    try {
      const now = await this.limit(() => this.positions(ids));
      for (const id of ids) {
        const at = now.get(id) ?? 'gone';
        for (const f of this.byRun.get(id) ?? []) if (f.position() !== at) f.wake();
      }
    } catch (err) {
      this.onSweepError(err);
    } finally {
      this.sweeping = false;
    }
  }

  private ping(): void {
    for (const set of this.byRun.values()) for (const f of set) f.ping();
  }

  /** Open followers, and those waiting for their client to read. */
  counts(): { open: number; waiting: number } {
    let waiting = 0;
    for (const set of this.byRun.values()) for (const f of set) if (f.waiting) waiting++;
    return { open: this.total, waiting };
  }

  /** Throws TooManyFollowers when one more follower of `runId` for `holder` would pass a cap. */
  check(runId: string, holder: string): void {
    const { total, perRun, perToken } = this.limits;
    if (this.total >= total)
      throw new TooManyFollowers(
        `this coordinator already serves ${total} log followers (--log-followers); retry later (see Retry-After), read the logs without follow, or ask an admin to raise the limit`,
      );
    if ((this.byRun.get(runId)?.size ?? 0) >= perRun)
      throw new TooManyFollowers(
        `run ${runId} already has ${perRun} followers on this coordinator (--log-followers-per-run); retry later (see Retry-After) or read its logs without follow`,
      );
    if ((this.byToken.get(holder) ?? 0) >= perToken)
      throw new TooManyFollowers(
        `${holder} already holds ${perToken} log followers open (--log-followers-per-token); close some (run pages, drover logs -f) or retry later (see Retry-After)`,
      );
  }

  /** Adds a follower of `runId` and starts its first read; check() first. */
  add(
    runId: string,
    holder: string,
    res: ServerResponse,
    step: () => Promise<FollowStep>,
    keepAlive: () => void,
    position: () => string | undefined,
    onEnd: () => void,
  ): Follower {
    this.check(runId, holder);
    let set = this.byRun.get(runId);
    if (!set) this.byRun.set(runId, (set = new Set()));
    this.byToken.set(holder, (this.byToken.get(holder) ?? 0) + 1);
    this.total++;
    const follower: Follower = new Follower(res, step, keepAlive, position, this.limit, this.onRead, () => {
      const of = this.byRun.get(runId);
      of?.delete(follower);
      if (of?.size === 0) this.byRun.delete(runId);
      const n = (this.byToken.get(holder) ?? 1) - 1;
      if (n > 0) this.byToken.set(holder, n);
      else this.byToken.delete(holder);
      this.total--;
      onEnd();
    });
    set.add(follower);
    follower.wake();
    return follower;
  }

  /** New chunks of a run committed, or it ended: its followers read. */
  wakeRun(runId: string): void {
    const set = this.byRun.get(runId);
    if (set) for (const f of set) f.wake();
  }

  /** Notifications may have been missed: every follower reads. */
  wakeAll(): void {
    for (const set of this.byRun.values()) for (const f of set) f.wake();
  }

  /** Whether any follower is open. */
  get size(): number {
    return this.total;
  }
}
