// The supervisor: the run lifecycle on one agent. It holds the free capacity, accepts the
// offers that fit and refuses the rest, runs each accepted attempt through its executor and
// turns what happens into events for the outbox:
//
//   offer ─▶ accept (capacity reserved) ─▶ prerun ─▶ executor ─▶ started, log…, finished ─▶ postrun ─▶ release
//
// Output goes through the secret masker (secret-masker.ts), so no secret value of the offer
// gets further, then through the attempt's log limit (output-limit.ts) on its way to the
// chunker, so the finished event can say how much there was, how much was dropped, and how it ended.
//
// Lifecycle hooks, for what an operator or embedding wants around every attempt:
//   - prerun(offer): runs after the offer was accepted and its capacity reserved, before the
//     executor starts. It may assume nothing of the attempt runs yet. Throwing fails the
//     attempt with the error's message (and nothing runs).
//   - postrun(offer, finished): runs after the attempt's finished event was queued, before its
//     capacity is released. It may assume the attempt's processes are gone. Errors are logged
//     and otherwise ignored: the outcome is already decided.
import type {
  AgentEvent,
  Capacity,
  CapacityEvent,
  ExecutorType,
  FinishedEvent,
  HeldRun,
  OfferRequest,
  OfferResponse,
  RunOffer,
  StopRequest,
} from '@drover/shared';
import { formatBytes } from '@drover/shared';
import { failedResult, type AttemptResult, type RunningAttempt, type StopReason } from './executors/executor.js';
import type { ExecutorRegistry } from './executors/index.js';
import { LogChunker } from './log-chunker.js';
import { OutputLimit } from './output-limit.js';
import { SecretMasker } from './secret-masker.js';

export interface AttemptHooks {
  prerun?(offer: RunOffer): void | Promise<void>;
  postrun?(offer: RunOffer, finished: FinishedEvent): void | Promise<void>;
}

export interface SupervisorOptions {
  agentId: string;
  total: Capacity;
  executors: ExecutorRegistry;
  /** Receives every event of every attempt, in order. */
  emit: (event: AgentEvent) => void;
  /** Backpressure from where events go: see `AttemptIO.roomForOutput`. */
  roomForOutput?: () => Promise<void> | undefined;
  /** Receives the free capacity after changes, at most once per turn of the event loop. */
  onCapacity?: (event: CapacityEvent) => void;
  hooks?: AttemptHooks;
  /**
   * Each attempt's scratch directory (scratch-dirs.ts): made after prerun, before the executor
   * starts (failing to make it fails the attempt), and tidied once nothing of the attempt runs,
   * before its finished event: a run reported succeeded has no scratch directory left.
   */
  scratch?: {
    prepare(offer: RunOffer): Promise<unknown>;
    ended(offer: RunOffer, succeeded: boolean): Promise<void>;
  };
  /** Reports hook failures and other trouble that does not change an outcome; `about` names the attempt concerned. */
  onWarning?: (message: string, err?: unknown, about?: { runId: string; attempt: number; token: number }) => void;
  now?: () => number;
}

interface Attempt {
  offer: RunOffer;
  stopRequested: StopReason | undefined;
  running: RunningAttempt | undefined;
  done: Promise<void>;
}

const EPSILON = 1e-9;

function formatDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Runs accepted offers within the agent's capacity and reports their events. */
export class Supervisor {
  private readonly attempts = new Map<string, Attempt>();
  private free: Capacity;
  private version = 0;
  private accepting = true;
  private capacityScheduled = false;
  private readonly now: () => number;

  constructor(private readonly opts: SupervisorOptions) {
    this.free = { ...opts.total };
    this.now = opts.now ?? Date.now;
  }

  /** Executor types this agent runs, as advertised at registration. */
  get executorTypes(): ExecutorType[] {
    return [...this.opts.executors.keys()];
  }

  /** The capacity free now, with a version that grows on every change. */
  capacity(): CapacityEvent {
    return { agentId: this.opts.agentId, version: this.version, free: { ...this.free } };
  }

  /** Runs executing here (including those stopping), with their tokens. */
  held(): HeldRun[] {
    return [...this.attempts.values()].map((a) => ({ runId: a.offer.runId, token: a.offer.token }));
  }

  /** The offers of the attempts held here (including those stopping): what the disconnect watchdog reads. */
  heldOffers(): RunOffer[] {
    return [...this.attempts.values()].map((a) => a.offer);
  }

  /** The longest kill grace among the attempts held here (`fallbackMs` for offers that name none): how long a stopAll may take. */
  longestKillGraceMs(fallbackMs: number): number {
    return Math.max(
      0,
      ...[...this.attempts.values()].map((a) => (Number.isFinite(a.offer.killGraceMs) ? a.offer.killGraceMs : fallbackMs)),
    );
  }

  get slotsUsed(): number {
    return this.attempts.size;
  }

  /** Accepts each offer that fits and whose executor runs here; refuses the rest with a reason. */
  offer(req: OfferRequest): OfferResponse {
    const accepted: string[] = [];
    const refused: OfferResponse['refused'] = [];
    for (const offer of Array.isArray(req?.offers) ? req.offers : []) {
      const reason = this.refusal(offer);
      if (reason === 'duplicate') accepted.push(offer.runId);
      else if (reason !== undefined) refused.push({ runId: offer.runId, reason });
      else {
        this.launch(offer);
        accepted.push(offer.runId);
      }
    }
    return { accepted, refused, capacity: this.capacity() };
  }

  /** Stops the named attempts; they finish as cancelled. Unknown runs and other tokens are ignored. */
  stop(req: StopRequest): void {
    const reason = req.reason ? `cancelled: ${req.reason}` : 'cancelled';
    for (const run of req.runs ?? []) this.stopAttempt(run, { outcome: 'cancelled', message: reason });
  }

  /** Stops one attempt with the given outcome, if this agent holds it with that token. */
  stopAttempt(run: HeldRun, reason: StopReason): void {
    const a = this.attempts.get(run.runId);
    if (!a || a.offer.token !== run.token) return;
    a.stopRequested ??= reason;
    a.running?.stop(reason);
  }

  /** Stops every attempt with the given outcome. */
  stopAll(reason: StopReason): void {
    for (const a of this.attempts.values()) this.stopAttempt({ runId: a.offer.runId, token: a.offer.token }, reason);
  }

  /** From now on every offer is refused (the agent is shutting down). */
  drain(): void {
    this.accepting = false;
  }

  /** Resolves when no attempt is running, or after `timeoutMs`; true when idle. */
  async idle(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      for (;;) {
        if (this.attempts.size === 0) return true;
        const done = await Promise.race([Promise.all([...this.attempts.values()].map((a) => a.done)).then(() => true), deadline]);
        if (!done) return this.attempts.size === 0;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Why an offer cannot run here, `'duplicate'` for one already held, or undefined when it can. */
  private refusal(offer: RunOffer): string | undefined {
    if (!offer || typeof offer.runId !== 'string' || typeof offer.token !== 'number' || !offer.executor) return 'malformed offer';
    const held = this.attempts.get(offer.runId);
    if (held) {
      if (held.offer.token === offer.token) return 'duplicate';
      if (held.offer.token > offer.token) return `stale attempt token ${offer.token}: this agent runs token ${held.offer.token}`;
      // A newer attempt of a run we still hold: the old one is stale. Stop it; the new one waits for its capacity.
      this.stopAttempt(
        { runId: held.offer.runId, token: held.offer.token },
        { outcome: 'cancelled', message: `superseded by attempt token ${offer.token}` },
      );
      return `still stopping attempt token ${held.offer.token} of this run`;
    }
    if (!this.accepting) return 'agent is shutting down';
    const type = offer.executor.type;
    if (!this.opts.executors.has(type)) {
      if (type === 'shell') return 'shell executor is not allowed on this agent (start it with --allow-shell)';
      if (type === 'http') return 'http executor is not allowed on this agent (start it with --allow-http)';
      return `${String(type)} executor is not available on this agent`;
    }
    const cpu = offer.resources?.cpu ?? 0;
    const mem = offer.resources?.memoryBytes ?? 0;
    if (this.free.slots < 1) return `no free slot (all ${this.opts.total.slots} in use)`;
    if (cpu > this.free.cpu + EPSILON)
      return `not enough free CPU: asks ${cpu}, ${Number(this.free.cpu.toFixed(3))} of ${this.opts.total.cpu} free`;
    if (mem > this.free.memoryBytes)
      return `not enough free memory: asks ${formatBytes(mem)}, ${formatBytes(this.free.memoryBytes)} of ${formatBytes(this.opts.total.memoryBytes)} free`;
    return undefined;
  }

  private reserve(offer: RunOffer, sign: 1 | -1): void {
    this.free = {
      slots: this.free.slots - sign,
      cpu: this.free.cpu - sign * (offer.resources?.cpu ?? 0),
      memoryBytes: this.free.memoryBytes - sign * (offer.resources?.memoryBytes ?? 0),
    };
    this.version++;
    this.scheduleCapacity();
  }

  private scheduleCapacity(): void {
    if (this.capacityScheduled || !this.opts.onCapacity) return;
    this.capacityScheduled = true;
    setImmediate(() => {
      this.capacityScheduled = false;
      this.opts.onCapacity?.(this.capacity());
    });
  }

  private launch(offer: RunOffer): void {
    this.reserve(offer, 1);
    const attempt: Attempt = { offer, stopRequested: undefined, running: undefined, done: Promise.resolve() };
    this.attempts.set(offer.runId, attempt);
    attempt.done = this.execute(attempt).finally(() => {
      this.attempts.delete(offer.runId);
      this.reserve(offer, -1);
    });
  }

  private async execute(attempt: Attempt): Promise<void> {
    const { offer } = attempt;
    const { runId, token } = offer;
    const output = new OutputLimit(new LogChunker({ runId, token, emit: this.opts.emit, now: this.now }), offer.logLimitBytes);
    // Secret values never get past here: the log limit, last lines and chunks see them masked.
    const masker = new SecretMasker(Object.values(offer.secretEnv ?? {}), (stream, data) => output.write(stream, data));
    let startedAt: number | undefined;
    const markStarted = (at: number) => {
      if (startedAt !== undefined) return;
      startedAt = at;
      this.opts.emit({ kind: 'started', runId, token, at });
    };
    let timeout: NodeJS.Timeout | undefined;
    let result: AttemptResult;
    try {
      await this.opts.hooks?.prerun?.(offer);
      if (!attempt.stopRequested) {
        await this.opts.scratch?.prepare(offer).catch((err: unknown) => {
          throw new Error(`could not make the attempt's scratch directory: ${(err as Error).message}`);
        });
      }
      if (attempt.stopRequested) {
        result = failedResult(attempt.stopRequested.message, attempt.stopRequested.outcome);
      } else {
        const executor = this.opts.executors.get(offer.executor.type);
        if (!executor) throw new Error(`${offer.executor.type} executor is not available on this agent`);
        const running = executor.start(offer, {
          started: markStarted,
          output: (stream, data) => {
            // Output before the start signal still belongs after the started event.
            markStarted(this.now());
            masker.write(stream, data);
          },
          roomForOutput: this.opts.roomForOutput,
        });
        attempt.running = running;
        if (offer.timeoutMs !== null && offer.timeoutMs > 0) {
          const limit = offer.timeoutMs;
          timeout = setTimeout(
            () => this.stopAttempt({ runId, token }, { outcome: 'timed_out', message: `timed out after ${formatDuration(limit)}` }),
            limit,
          );
        }
        result = await running.result;
      }
    } catch (err) {
      result = failedResult((err as Error)?.message ?? String(err));
    } finally {
      clearTimeout(timeout);
    }
    await this.opts.scratch?.ended(offer, result.outcome === 'succeeded');
    const end = this.now();
    markStarted(end);
    masker.flush();
    const summary = output.end();
    const finished: FinishedEvent = {
      kind: 'finished',
      runId,
      jobId: offer.jobId,
      token,
      at: end,
      outcome: result.outcome,
      exitCode: result.exitCode,
      signal: result.signal,
      error: result.error,
      durationMs: Math.max(0, end - (startedAt ?? end)),
      cpuTimeMs: result.cpuTimeMs,
      peakMemoryBytes: result.peakMemoryBytes,
      httpStatus: result.httpStatus ?? null,
      ...summary,
    };
    this.opts.emit(finished);
    try {
      await this.opts.hooks?.postrun?.(offer, finished);
    } catch (err) {
      this.opts.onWarning?.(`postrun hook failed for run ${runId}`, err, { runId, attempt: offer.attempt, token });
    }
  }
}
