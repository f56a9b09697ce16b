// The outbox: the ordered queue of events (started, log, finished) waiting for a coordinator.
//
//   push ─▶ [queue] ─▶ one report call in flight ─▶ ack: drop the batch
//                              └─ failure: back to the front, retry after a capped backoff
//
// One call at a time, and everything that piled up meanwhile goes in the next one: that is
// the batching, so at high throughput a call carries hundreds of events, and when idle an
// event leaves on the next turn of the event loop (no fixed delay on the hot path). Events
// leave the queue only when a call succeeded, so a coordinator restart loses nothing; a
// call that succeeded but whose answer was lost is resent, so coordinators dedupe events by
// (run, token, kind, seq).
import type { AgentEvent, HeldRun, ReportResponse } from '@drover/shared';

export const MAX_EVENTS_PER_REPORT = 2_000;
export const MAX_BYTES_PER_REPORT = 512 * 1024;
/** Above this much queued output the outbox asks attempts to pause theirs (backpressure). */
export const OUTBOX_HIGH_WATER_BYTES = 64 * 1024 * 1024;
/** Roughly what an event costs in a message besides its log data. */
const EVENT_OVERHEAD_BYTES = 160;
const MAX_STALE_REMEMBERED = 10_000;

/** Sends one batch of events; resolves with the coordinator's answer or rejects. */
export type ReportSender = (events: AgentEvent[]) => Promise<ReportResponse>;

export interface OutboxOptions {
  send: ReportSender;
  /** Called with attempts the coordinator reported stale; their events are dropped already. */
  onStale?: (runs: HeldRun[]) => void;
  /** Called after a failed call, with the delay before the retry. */
  onError?: (err: unknown, retryInMs: number) => void;
  maxEvents?: number;
  maxBytes?: number;
  /** Queued bytes above which `roomForOutput()` asks producers to wait; they resume below half of it. */
  highWaterBytes?: number;
  backoff?: { initialMs: number; maxMs: number };
  /**
   * How long an idle outbox waits before sending, so events close together (a run's start and
   * end, the next run's start) share one report and one PostgreSQL commit. Run timestamps are
   * taken on the agent, so this delays acknowledgements, never what is measured. Default 0.
   */
  lingerMs?: number;
}

function attemptKey(runId: string, token: number): string {
  return `${runId}#${token}`;
}

function eventSize(e: AgentEvent): number {
  return EVENT_OVERHEAD_BYTES + (e.kind === 'log' ? Buffer.byteLength(e.data) : e.kind === 'finished' ? (e.error?.length ?? 0) : 0);
}

/** An ordered, retried queue of agent events. */
export class Outbox {
  private queue: AgentEvent[] = [];
  private queuedBytes = 0;
  private room: { promise: Promise<void>; resolve: () => void } | undefined;
  private inFlight: AgentEvent[] | undefined;
  private scheduled = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private closed = false;
  private readonly stale = new Set<string>();
  private idleWaiters: Array<() => void> = [];
  private readonly maxEvents: number;
  private readonly maxBytes: number;
  private readonly highWaterBytes: number;
  private readonly backoff: { initialMs: number; maxMs: number };

  constructor(private readonly opts: OutboxOptions) {
    this.maxEvents = opts.maxEvents ?? MAX_EVENTS_PER_REPORT;
    this.maxBytes = opts.maxBytes ?? MAX_BYTES_PER_REPORT;
    this.highWaterBytes = opts.highWaterBytes ?? OUTBOX_HIGH_WATER_BYTES;
    this.backoff = opts.backoff ?? { initialMs: 100, maxMs: 5_000 };
  }

  /** Events waiting, including those of the call in flight. */
  /** Attempts with events still waiting for the coordinator (finished runs whose result is not yet acknowledged). */
  pendingAttempts(): HeldRun[] {
    const seen = new Map<string, HeldRun>();
    for (const e of [...(this.inFlight ?? []), ...this.queue]) seen.set(`${e.runId}:${e.token}`, { runId: e.runId, token: e.token });
    return [...seen.values()];
  }

  get size(): number {
    return this.queue.length + (this.inFlight?.length ?? 0);
  }

  /** Bytes of events waiting, including those of the call in flight (an estimate). */
  get bytes(): number {
    return this.queuedBytes;
  }

  /** Queues an event; it is sent after every event pushed before it. */
  push(event: AgentEvent): void {
    if (this.stale.has(attemptKey(event.runId, event.token))) return;
    this.queue.push(event);
    this.queuedBytes += eventSize(event);
    this.schedule();
  }

  /** Undefined while there is room for more output; otherwise a promise that settles once there is again. */
  roomForOutput(): Promise<void> | undefined {
    if (this.queuedBytes <= this.highWaterBytes) return undefined;
    if (!this.room) {
      let resolve: () => void = () => undefined;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.room = { promise, resolve };
    }
    return this.room.promise;
  }

  /** Resolves when nothing is waiting, or after `timeoutMs`; true when empty. */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.size === 0) return true;
    // Do not sit out a long backoff when someone is waiting for the queue to empty.
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      this.schedule();
    }
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(this.size === 0), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Stops sending; what is still queued stays unsent. */
  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    // Nothing will leave any more: let paused producers finish rather than hang.
    this.room?.resolve();
    this.room = undefined;
  }

  /** Forgets the queued events of these attempts and refuses their future ones. */
  dropAttempts(runs: readonly HeldRun[]): void {
    if (runs.length === 0) return;
    const keys = new Set(runs.map((r) => attemptKey(r.runId, r.token)));
    for (const k of keys) this.stale.add(k);
    // Bounded memory: the oldest stale attempts are long finished.
    for (const k of this.stale) {
      if (this.stale.size <= MAX_STALE_REMEMBERED) break;
      this.stale.delete(k);
    }
    const dropped = this.queue.filter((e) => keys.has(attemptKey(e.runId, e.token)));
    this.queue = this.queue.filter((e) => !keys.has(attemptKey(e.runId, e.token)));
    this.forget(dropped);
    this.notifyIfIdle();
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight || this.retryTimer || this.closed) return;
    this.scheduled = true;
    const go = () => {
      this.scheduled = false;
      void this.sendNext();
    };
    if (this.opts.lingerMs && this.opts.lingerMs > 0) setTimeout(go, this.opts.lingerMs);
    else setImmediate(go);
  }

  private takeBatch(): AgentEvent[] {
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length && n < this.maxEvents) {
      bytes += eventSize(this.queue[n] as AgentEvent);
      if (n > 0 && bytes > this.maxBytes) break;
      n++;
    }
    return this.queue.splice(0, n);
  }

  private async sendNext(): Promise<void> {
    if (this.inFlight || this.closed || this.queue.length === 0) return this.notifyIfIdle();
    const batch = this.takeBatch();
    this.inFlight = batch;
    let response: ReportResponse;
    try {
      response = await this.opts.send(batch);
    } catch (err) {
      this.inFlight = undefined;
      // Back to the front, minus attempts that went stale meanwhile, so order is kept.
      const isStale = (e: AgentEvent) => this.stale.has(attemptKey(e.runId, e.token));
      this.forget(batch.filter(isStale));
      this.queue = batch.filter((e) => !isStale(e)).concat(this.queue);
      this.failures++;
      const delay = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** (this.failures - 1));
      const jittered = Math.round(delay * (0.8 + Math.random() * 0.4));
      this.opts.onError?.(err, jittered);
      if (this.closed) return;
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        void this.sendNext();
      }, jittered);
      return;
    }
    this.inFlight = undefined;
    this.failures = 0;
    this.forget(batch);
    const stale = response?.stale ?? [];
    if (stale.length > 0) {
      this.dropAttempts(stale);
      this.opts.onStale?.(stale);
    }
    if (this.queue.length > 0) this.schedule();
    else this.notifyIfIdle();
  }

  /** Accounts for events that left the outbox, and lets paused producers go on below the low-water mark. */
  private forget(events: readonly AgentEvent[]): void {
    for (const e of events) this.queuedBytes -= eventSize(e);
    if (this.room && this.queuedBytes <= this.highWaterBytes / 2) {
      this.room.resolve();
      this.room = undefined;
    }
  }

  private notifyIfIdle(): void {
    if (this.size > 0 || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
