// Background work (timers, sweeps, fire-and-forget promises) must never take a process down:
// an unhandled rejection ends a Node process. Each failure is caught and logged — the first of
// a kind at once, then at most one line per interval with how many were held back, so an outage
// does not flood the log — and the work goes on at its next turn.

/** The part of a pino logger this needs. */
export interface FailureSink {
  error(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** Logs failures of each kind at most once per interval, and once when the kind recovers. */
export class FailureLog {
  private readonly kinds = new Map<string, { loggedAt: number; held: number }>();

  constructor(
    private readonly sink: FailureSink,
    private readonly everyMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records a failure of `kind` (e.g. "reconcile sweep"), logging it unless one was just logged. */
  failed(kind: string, err: unknown, fields: object = {}): void {
    const at = this.now();
    const seen = this.kinds.get(kind);
    if (seen && at - seen.loggedAt < this.everyMs) {
      seen.held++;
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    this.sink.error(
      { ...fields, kind, err: message, ...(seen && seen.held > 0 ? { failuresHeldBack: seen.held } : {}) },
      `${kind} failed; it goes on at its next turn`,
    );
    this.kinds.set(kind, { loggedAt: at, held: 0 });
  }

  /** Records a success of `kind`: logs the recovery if it had been failing. */
  succeeded(kind: string): void {
    const seen = this.kinds.get(kind);
    if (!seen) return;
    this.kinds.delete(kind);
    this.sink.info({ kind, ...(seen.held > 0 ? { failuresHeldBack: seen.held } : {}) }, `${kind} works again`);
  }
}

/** Starts a promise without waiting for it; a rejection is logged, never left unhandled. */
export function inBackground(kind: string, failures: FailureLog, task: () => Promise<unknown>): void {
  let started: Promise<unknown>;
  try {
    started = task();
  } catch (err) {
    failures.failed(kind, err);
    return;
  }
  started.then(
    () => failures.succeeded(kind),
    (err: unknown) => failures.failed(kind, err),
  );
}

/** A loop started by startLoop. */
export interface BackgroundLoop {
  /** Runs a turn now (or right after the one running), instead of waiting for the interval. */
  poke(): void;
  /** Stops the loop; a turn already running finishes. */
  stop(): void;
}

export interface LoopOptions {
  kind: string;
  failures: FailureLog;
  /** Pause between the end of a turn and the start of the next. */
  intervalMs: number | (() => number);
  /** One turn; a throw or rejection is logged and the loop goes on. */
  turn: () => Promise<void> | void;
  /** Whether the timer keeps the process alive (default false). */
  ref?: boolean;
  /** Run the first turn at once instead of after one interval. */
  immediate?: boolean;
}

/** Runs `turn` again and again, one at a time, `intervalMs` apart; a failing turn never stops it. */
export function startLoop(o: LoopOptions): BackgroundLoop {
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;
  let stopped = false;
  const interval = (): number => {
    if (typeof o.intervalMs !== 'function') return o.intervalMs;
    try {
      return o.intervalMs();
    } catch (err) {
      o.failures.failed(o.kind, err);
      return 1000;
    }
  };
  const arm = (ms: number) => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(run, ms);
    if (!o.ref) timer.unref();
  };
  const run = (): void => {
    timer = undefined;
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    again = false;
    void (async () => {
      try {
        await o.turn();
        o.failures.succeeded(o.kind);
      } catch (err) {
        o.failures.failed(o.kind, err);
      } finally {
        running = false;
        arm(again ? 0 : interval());
      }
    })();
  };
  arm(o.immediate ? 0 : interval());
  return {
    poke: () => arm(0),
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
