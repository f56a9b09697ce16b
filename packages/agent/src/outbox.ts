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
//
// Durable: with a journal (outbox-journal.ts), every event is also recorded in the state dir
// and acknowledged there when it leaves, so an agent restarted after a crash sends again what
// no coordinator acknowledged. Bounded: over `maxDiskBytes` of unacknowledged events, the
// oldest log chunks are dropped first, then the oldest finished attempts whole (their runs are
// then lost and retried by the coordinator; outbox-bound.ts chooses), each drop logged through
// `onDropped`.
//
// Poison: a batch the coordinator rejects for good (a 422 REPORT_REJECTED, a payload too large
// for the bus) is bisected: halves are sent until the one event still rejected is found, and
// that event is dropped (acknowledged, reported through `onDropped`). Everything before and
// after it goes on, in order. Other failures are retried with a capped backoff.
import { injectFault, REPORT_REJECTED, type AgentEvent, type HeldRun, type RejectedEvent, type ReportResponse } from '@drover/shared';
import { attemptKey, OUTBOX_MAX_DISK_BYTES, planShed, SHED_TO, shedDetail } from './outbox-bound.js';
import type { JournalEntry, OutboxJournal } from './outbox-journal.js';

export const MAX_EVENTS_PER_REPORT = 2_000;
export const MAX_BYTES_PER_REPORT = 512 * 1024;
/** Above this much queued output the outbox asks attempts to pause theirs (backpressure). */
export const OUTBOX_HIGH_WATER_BYTES = 64 * 1024 * 1024;
/** Roughly what an event costs in a message besides its log data. */
const EVENT_OVERHEAD_BYTES = 160;
const MAX_STALE_REMEMBERED = 10_000;

/** Sends one batch of events; resolves with the coordinator's answer or rejects. */
export type ReportSender = (events: AgentEvent[]) => Promise<ReportResponse>;

/** Why events left the outbox without being delivered. */
export type DropReason = 'rejected' | 'bound';

export interface OutboxOptions {
  send: ReportSender;
  /** Called with attempts the coordinator reported stale; their events are dropped already. */
  onStale?: (runs: HeldRun[]) => void;
  /** Called after a failed call, with the delay before the retry. */
  onError?: (err: unknown, retryInMs: number) => void;
  /** Called with events dropped undelivered: rejected for good by the coordinator, or shed over the bound. */
  onDropped?: (events: AgentEvent[], reason: DropReason, detail: string) => void;
  /** Called with events a coordinator accepted the report of but isolated (it recorded why). */
  onRejected?: (rejected: RejectedEvent[]) => void;
  /** Where events are kept across restarts; without one the outbox lives in memory only. */
  journal?: OutboxJournal;
  /** Events the journal read back at start, queued first, in order. */
  replayed?: readonly JournalEntry[];
  /** The bound on the journal's unacknowledged events, in bytes; default 256 MiB. */
  maxDiskBytes?: number;
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

/** An event in the outbox, with its journal id and what it weighs in memory and on disk. */
interface Queued {
  id: number;
  event: AgentEvent;
  bytes: number;
  diskBytes: number;
}

function eventSize(e: AgentEvent): number {
  return EVENT_OVERHEAD_BYTES + (e.kind === 'log' ? Buffer.byteLength(e.data) : e.kind === 'finished' ? (e.error?.length ?? 0) : 0);
}

/**
 * Whether a failed report will fail again however often it is sent: the coordinator rejected it
 * for good (code 422, type REPORT_REJECTED), or it is too large to travel (413, or NATS's own
 * limit). Everything else (no coordinator, timeouts, refusals of the agent itself) is retried.
 */
export function isPermanentRejection(err: unknown): boolean {
  const e = err as { code?: unknown; type?: unknown; name?: unknown } | undefined;
  if (!e) return false;
  if (e.name === 'MoleculerRetryableError' || e.name === 'RequestTimeoutError') return false;
  return e.code === 422 || e.type === REPORT_REJECTED || e.code === 413 || e.code === 'MAX_PAYLOAD_EXCEEDED';
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** An ordered, retried queue of agent events. */
export class Outbox {
  private queue: Queued[] = [];
  private queuedBytes = 0;
  private room: { promise: Promise<void>; resolve: () => void } | undefined;
  private inFlight: Queued[] | undefined;
  private scheduled = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private closed = false;
  private nextId = 0;
  /** While isolating a rejected batch: the most events a call may carry, up to the last event of that batch. */
  private probe: { limit: number; untilId: number } | undefined;
  private readonly stale = new Set<string>();
  private idleWaiters: Array<() => void> = [];
  private readonly maxEvents: number;
  private readonly maxBytes: number;
  private readonly maxDiskBytes: number;
  private readonly highWaterBytes: number;
  private readonly backoff: { initialMs: number; maxMs: number };

  constructor(private readonly opts: OutboxOptions) {
    this.maxEvents = opts.maxEvents ?? MAX_EVENTS_PER_REPORT;
    this.maxBytes = opts.maxBytes ?? MAX_BYTES_PER_REPORT;
    this.maxDiskBytes = opts.maxDiskBytes ?? OUTBOX_MAX_DISK_BYTES;
    this.highWaterBytes = opts.highWaterBytes ?? OUTBOX_HIGH_WATER_BYTES;
    this.backoff = opts.backoff ?? { initialMs: 100, maxMs: 5_000 };
    for (const r of opts.replayed ?? []) {
      this.queue.push({ id: r.id, event: r.event, bytes: eventSize(r.event), diskBytes: r.bytes });
      this.queuedBytes += eventSize(r.event);
      this.nextId = Math.max(this.nextId, r.id);
    }
    if (this.queue.length > 0) this.schedule();
  }

  /** Attempts with events still waiting for the coordinator (finished runs whose result is not yet acknowledged). */
  pendingAttempts(): HeldRun[] {
    const seen = new Map<string, HeldRun>();
    for (const { event: e } of [...(this.inFlight ?? []), ...this.queue])
      seen.set(`${e.runId}:${e.token}`, { runId: e.runId, token: e.token });
    return [...seen.values()];
  }

  /** Whether the result (`finished` event) of this attempt waits here, sent or not yet acknowledged. */
  holdsResult(runId: string, token: number): boolean {
    return [...(this.inFlight ?? []), ...this.queue].some(
      ({ event: e }) => e.kind === 'finished' && e.runId === runId && e.token === token,
    );
  }

  /** Events waiting, including those of the call in flight. */
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
    const recorded = this.opts.journal?.append(event);
    const bytes = eventSize(event);
    this.queue.push({ id: recorded?.id ?? ++this.nextId, event, bytes, diskBytes: recorded?.bytes ?? 0 });
    this.queuedBytes += bytes;
    if (this.opts.journal && this.opts.journal.bytesLive > this.maxDiskBytes) this.shed();
    this.schedule();
  }

  /** Resolves once every event pushed so far is on disk (at once without a journal): a finished attempt is done only then. */
  durable(): Promise<void> {
    return this.opts.journal?.durable() ?? Promise.resolve();
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

  /** Stops sending; what is still queued stays unsent (and in the journal, which is written out and closed). */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    // Nothing will leave any more: let paused producers finish rather than hang.
    this.room?.resolve();
    this.room = undefined;
    await this.opts.journal?.close();
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
    this.remove((q) => keys.has(attemptKey(q.event.runId, q.event.token)));
    this.notifyIfIdle();
  }

  /** Takes queued events matching `which` out of the outbox for good (acknowledged in the journal). */
  private remove(which: (q: Queued) => boolean): Queued[] {
    const removed: Queued[] = [];
    const kept: Queued[] = [];
    for (const q of this.queue) (which(q) ? removed : kept).push(q);
    this.queue = kept;
    this.forget(removed);
    return removed;
  }

  /** Over the disk bound: drops what `planShed` chooses, until under 90 % of the bound. */
  private shed(): void {
    const journal = this.opts.journal;
    if (!journal) return;
    const plan = planShed(this.queue, journal.bytesLive - this.maxDiskBytes * SHED_TO);
    const dropped = this.remove((q) => plan.logs.has(q) || plan.attempts.has(attemptKey(q.event.runId, q.event.token)));
    if (dropped.length === 0) return;
    this.opts.onDropped?.(
      dropped.map((q) => q.event),
      'bound',
      shedDetail(plan, this.maxDiskBytes),
    );
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight || this.retryTimer || this.closed) return;
    this.scheduled = true;
    const go = () => {
      this.scheduled = false;
      this.sendNext().catch((err: unknown) => this.sendLater(err));
    };
    if (this.opts.lingerMs && this.opts.lingerMs > 0) setTimeout(go, this.opts.lingerMs);
    else setImmediate(go);
  }

  private takeBatch(): Queued[] {
    const maxEvents = Math.min(this.maxEvents, this.probe?.limit ?? Infinity);
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length && n < maxEvents) {
      bytes += (this.queue[n] as Queued).bytes;
      if (n > 0 && bytes > this.maxBytes) break;
      n++;
    }
    return this.queue.splice(0, n);
  }

  private async sendNext(): Promise<void> {
    injectFault('outbox send');
    if (this.inFlight || this.closed || this.queue.length === 0) return this.notifyIfIdle();
    const batch = this.takeBatch();
    this.inFlight = batch;
    let response: ReportResponse;
    try {
      response = await this.opts.send(batch.map((q) => q.event));
    } catch (err) {
      this.inFlight = undefined;
      // Back to the front, minus attempts that went stale meanwhile, so order is kept.
      const isStale = (q: Queued) => this.stale.has(attemptKey(q.event.runId, q.event.token));
      this.forget(batch.filter(isStale));
      const live = batch.filter((q) => !isStale(q));
      if (isPermanentRejection(err)) return this.isolate(live, err);
      this.queue = live.concat(this.queue);
      this.failures++;
      const delay = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** (this.failures - 1));
      const jittered = Math.round(delay * (0.8 + Math.random() * 0.4));
      this.opts.onError?.(err, jittered);
      if (this.closed) return;
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.sendNext().catch((err: unknown) => this.sendLater(err));
      }, jittered);
      return;
    }
    this.inFlight = undefined;
    this.failures = 0;
    this.forget(batch);
    this.probeDone();
    const rejected: RejectedEvent[] = response?.rejected ?? [];
    if (rejected.length > 0) this.opts.onRejected?.(rejected);
    const stale = response?.stale ?? [];
    if (stale.length > 0) {
      this.dropAttempts(stale);
      this.opts.onStale?.(stale);
    }
    if (this.queue.length > 0) this.schedule();
    else this.notifyIfIdle();
  }

  /** Something past the send itself threw (a bug): reported, and the outbox tries again in a second, so no event is stranded. */
  private sendLater(err: unknown): void {
    this.opts.onError?.(err, 1000);
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.sendNext().catch((again: unknown) => this.sendLater(again));
    }, 1000);
  }

  /**
   * A batch rejected for good: send its first half alone next (then the rest), halving again on
   * each rejection, until a single event is rejected; that one is dropped. No backoff: each call
   * narrows the search, and the coordinator answered, so it is there.
   */
  private isolate(batch: Queued[], err: unknown): void {
    const last = batch[batch.length - 1];
    if (batch.length === 1 && last) {
      this.forget(batch);
      this.opts.onDropped?.([last.event], 'rejected', describe(err));
      this.probeDone();
    } else if (last) {
      this.queue = batch.concat(this.queue);
      this.probe = { limit: Math.ceil(batch.length / 2), untilId: Math.max(this.probe?.untilId ?? 0, last.id) };
    }
    this.failures = 0;
    if (this.queue.length > 0) this.schedule();
    else this.notifyIfIdle();
  }

  /** Ends an isolation once every event of the rejected batch was delivered or dropped. */
  private probeDone(): void {
    if (this.probe && !(this.queue[0] && this.queue[0].id <= this.probe.untilId)) this.probe = undefined;
  }

  /** Accounts for events that left the outbox (acknowledged in the journal), and lets paused producers go on below the low-water mark. */
  private forget(events: readonly Queued[]): void {
    if (events.length === 0) return;
    for (const q of events) this.queuedBytes -= q.bytes;
    this.opts.journal?.ack(events.map((q) => q.id));
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
