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

/**
 * Starts a promise without waiting for it (a timer's turn, a fire-and-forget reload): a throw or
 * rejection is logged as a failure of `kind`, never left unhandled. Recoveries are for the task
 * itself to record (FailureLog.succeeded), since only it knows what success is.
 */
export function inBackground(kind: string, failures: FailureLog, task: () => Promise<unknown>): void {
  try {
    task().catch((err: unknown) => failures.failed(kind, err));
  } catch (err) {
    failures.failed(kind, err);
  }
}

const logs = new WeakMap<FailureSink, FailureLog>();

/** The one failure log of a logger, so every part of a process shares its rate limits. */
export function failureLogOf(sink: FailureSink): FailureLog {
  let f = logs.get(sink);
  if (!f) logs.set(sink, (f = new FailureLog(sink)));
  return f;
}

/**
 * Makes a broker's broadcasts fire and forget for real: Moleculer rejects a broadcast while the
 * bus is disconnected, and an unawaited rejection would end the process. Every broadcast is a
 * nudge that a periodic sweep backs up, so a lost one is logged (rate-limited), never thrown.
 */
export function guardBroadcasts(broker: { broadcast: (...args: never[]) => unknown }, failures: FailureLog): void {
  const original = broker.broadcast.bind(broker) as (...args: unknown[]) => unknown;
  broker.broadcast = ((...args: unknown[]) => {
    try {
      const sent = Promise.resolve(original(...args));
      return sent.catch((err: unknown) => failures.failed('broadcast on the bus', err, { event: args[0] }));
    } catch (err) {
      failures.failed('broadcast on the bus', err, { event: args[0] });
      return Promise.resolve();
    }
  }) as typeof broker.broadcast;
}

/**
 * The last net, for a process that must not die of a stray error (a coordinator, an agent):
 * an unhandled rejection or an uncaught exception is logged (rate-limited) as the bug it is, and
 * the process goes on. Every background loop catches its own failures; this only catches what
 * one of them missed.
 */
export function keepRunningOnStrayErrors(failures: FailureLog): void {
  process.on('unhandledRejection', (reason) => failures.failed('a background task nobody awaited (a bug; please report it)', reason));
  process.on('uncaughtException', (err) => failures.failed('a callback that threw (a bug; please report it)', err));
}

/** Turns left to fail, per kind; `*` is the count for kinds not named. Unset in production. */
const faults = parseFaults(process.env.DROVER_FAULTS);

function parseFaults(text: string | undefined): Map<string, number> | undefined {
  if (!text) return undefined;
  const plan = new Map<string, number>();
  for (const part of text.split(';')) {
    const at = part.lastIndexOf('=');
    if (at > 0) plan.set(part.slice(0, at).trim(), Number(part.slice(at + 1)) || 0);
  }
  return plan;
}

/**
 * A test hook at the start of each background turn: DROVER_FAULTS (`kind=count;…`, or `*=count`
 * for every kind) makes the first turns of those tasks throw, so a test can prove that each loop
 * survives its own failure and recovers. Unset, as in production, it does nothing.
 */
export function injectFault(kind: string): void {
  if (!faults) return;
  const left = faults.get(kind) ?? faults.get('*') ?? 0;
  if (left <= 0) return;
  faults.set(kind, left - 1);
  throw new Error(`fault injected into ${kind} (DROVER_FAULTS)`);
}
