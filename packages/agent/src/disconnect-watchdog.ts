// The agent's half of a job's disconnect rule (shared disconnect.ts): an agent cut off from
// every coordinator stops each attempt whose rule is `stop` once it has heard none for the
// rule's `after`. The coordinator re-dispatches such a run only after a longer silence (plus the
// kill grace and a margin), so the retry never overlaps this attempt. `keep` attempts run on.
//
//   heartbeat or registration answered ─▶ heard()        every CHECK_EVERY_MS:
//   supervisor.heldOffers() ─▶ attempts ─▶ attemptsToStop(silence) ─▶ stop (outcome lost)
//
// Silence is measured on the monotonic clock (performance.now), so a wall-clock step cannot
// make the agent stop late. Only answers to heartbeats and registrations count as hearing a
// coordinator (not answers to reports): those are what move the agent's last_heartbeat_at, the
// instant the coordinator measures its own wait from.
import { performance } from 'node:perf_hooks';
import type { DisconnectRule, HeldRun } from '@drover/shared';

/** An attempt as the watchdog sees it: which one, and its job's rule (absent: an older coordinator, kept). */
export interface WatchedAttempt extends HeldRun {
  disconnect?: DisconnectRule;
}

/** How often the watchdog looks: a late look eats into the coordinator's margin (at least 5 s). */
export const CHECK_EVERY_MS = 250;

/** The attempts to stop after `silentForMs` without a coordinator: those under `stop` whose `after` has passed. */
export function attemptsToStop<T extends WatchedAttempt>(silentForMs: number, attempts: readonly T[]): T[] {
  return attempts.filter((a) => a.disconnect?.mode === 'stop' && silentForMs >= a.disconnect.afterMs);
}

/** Why an attempt was stopped, as the run's error shows it. */
export function stopMessage(silentForMs: number, rule: DisconnectRule): string {
  return (
    `the agent heard no coordinator for ${(silentForMs / 1000).toFixed(1)} s, past the job's disconnect.after ` +
    `(${rule.afterMs / 1000} s): stopped so that its retry elsewhere never overlaps it (disconnect mode "keep" lets it run on)`
  );
}

export interface DisconnectWatchdogOptions {
  /** The attempts running here, with their rules. */
  attempts: () => readonly WatchedAttempt[];
  /** Stops one attempt (it ends `lost` with `message`). */
  stop: (attempt: HeldRun, message: string) => void;
  /** Monotonic milliseconds; default performance.now. */
  now?: () => number;
  checkEveryMs?: number;
  /** How long a silence that ended stays in view (recentSilenceMs); default RECENT_SILENCE_MS. */
  recentMs?: number;
}

/** How long a silence that ended is kept in view for offers read in the burst after it. */
export const RECENT_SILENCE_MS = 5000;

/** Stops `stop` attempts once the agent has heard no coordinator for their `after`. */
export class DisconnectWatchdog {
  private timer: NodeJS.Timeout | undefined;
  /** Attempts already told to stop (`runId:token`), so each is stopped once. */
  private readonly stopped = new Set<string>();
  private readonly now: () => number;
  /** When a coordinator last answered, on `now`'s clock; undefined until one has. */
  private lastHeardAt: number | undefined;

  constructor(private readonly opts: DisconnectWatchdogOptions) {
    this.now = opts.now ?? (() => performance.now());
  }

  /** Starts looking every `checkEveryMs`. */
  start(): void {
    this.timer ??= setInterval(() => this.check(), this.opts.checkEveryMs ?? CHECK_EVERY_MS);
    this.timer.unref();
  }

  /** The silence that ended last (ms) and when it ended, on `now`'s clock. */
  private lastGap: { ms: number; endedAt: number } | undefined;

  /** A coordinator answered a heartbeat or a registration (it recorded this agent's heartbeat). */
  heard(): void {
    const now = this.now();
    if (this.lastHeardAt !== undefined) {
      const gap = now - this.lastHeardAt;
      // The longest silence stays in view for its whole window: the answers that follow a
      // freeze come a few hundred ms apart and must not hide it from offers still arriving.
      const last = this.lastGap;
      if (!last || now - last.endedAt >= (this.opts.recentMs ?? RECENT_SILENCE_MS) || gap >= last.ms)
        this.lastGap = { ms: gap, endedAt: now };
    }
    this.lastHeardAt = now;
  }

  /** How long no coordinator has answered, on `now`'s clock; undefined until one has. */
  silentForMs(): number | undefined {
    return this.lastHeardAt === undefined ? undefined : this.now() - this.lastHeardAt;
  }

  /**
   * The longest silence that matters for an offer arriving now: the current one, or the last
   * one that ended less than `recentMs` ago. Messages sent during a silence (a frozen or
   * cut-off agent) are read in a burst after it, some only after the first answer has ended it.
   */
  recentSilenceMs(recentMs: number): number | undefined {
    const current = this.silentForMs();
    if (current === undefined) return undefined;
    const gap = this.lastGap && this.now() - this.lastGap.endedAt < recentMs ? this.lastGap.ms : 0;
    return Math.max(current, gap);
  }

  /** Looks once: stops what is due and returns it. */
  check(): WatchedAttempt[] {
    const heard = this.lastHeardAt;
    const attempts = this.opts.attempts();
    const live = new Set(attempts.map((a) => `${a.runId}:${a.token}`));
    for (const key of this.stopped) if (!live.has(key)) this.stopped.delete(key);
    if (heard === undefined) return [];
    const silentForMs = this.now() - heard;
    const due = attemptsToStop(silentForMs, attempts).filter((a) => !this.stopped.has(`${a.runId}:${a.token}`));
    for (const a of due) {
      this.stopped.add(`${a.runId}:${a.token}`);
      this.opts.stop({ runId: a.runId, token: a.token }, stopMessage(silentForMs, a.disconnect as DisconnectRule));
    }
    return due;
  }

  /** Stops looking. */
  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
