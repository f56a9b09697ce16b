// How the agent stops: it refuses new offers at once, tells the coordinators, gives running
// attempts their grace, flushes the outbox, says it is leaving, and leaves the bus.
import type { Logger } from 'pino';
import { DEFAULT_KILL_GRACE_MS } from '@drover/shared';
import type { Outbox } from './outbox.js';
import { errorMessage } from './registration.js';
import type { Supervisor } from './supervisor.js';

const OUTBOX_FLUSH_ON_STOP_MS = 5_000;
/** How long the farewell heartbeat may hold up a shutdown on an unreachable bus. */
const FAREWELL_BEAT_MS = 2_000;

/** Whether the agent is shutting down, as every part sees it. */
export class Lifecycle {
  /** Set the moment shutdown begins: no new registration, offers refused, heartbeats say `draining`. */
  stopping = false;
  private readonly ended = new AbortController();
  /** Aborted once the attempts are done with: ends the waits of registration and heartbeat. */
  get signal(): AbortSignal {
    return this.ended.signal;
  }
  /** Ends the waits (see `signal`). */
  end(): void {
    this.ended.abort();
  }
}

/** What the shutdown stops, in order. */
export interface ShutdownParts {
  lifecycle: Lifecycle;
  supervisor: Pick<Supervisor, 'drain' | 'slotsUsed' | 'idle' | 'held' | 'stopAll' | 'longestKillGraceMs'>;
  heartbeat: { beat(): Promise<void>; stop(): void; leave(): Promise<boolean> };
  /** Stops attempts of a cut-off agent; it watches until the attempts have ended. */
  watchdog: { close(): void };
  outbox: Pick<Outbox, 'drain' | 'close' | 'size'>;
  leaveBus(): Promise<void>;
  closeMetrics(): void;
  /** Stops the reaper, once no attempt runs (it would kill what still does). */
  closeReaper(): Promise<void>;
  /** Lets another agent process use the state dir, once nothing of this one is left on the bus. */
  unlockStateDir(): void;
  killGraceMs?: number;
  log: Logger;
}

/** Returns the agent's shutdown: the first call runs it with its grace, later calls wait for that one. */
export function shutdownSequence(parts: ShutdownParts): (graceMs: number) => Promise<void> {
  const { lifecycle, supervisor, heartbeat, outbox, log } = parts;
  let stopped: Promise<void> | undefined;
  return (graceMs) => {
    stopped ??= (async () => {
      lifecycle.stopping = true;
      supervisor.drain();
      // Tell the coordinators at once, so they stop offering instead of hearing refusals (but do
      // not let an unreachable bus hold up the shutdown).
      await Promise.race([heartbeat.beat(), new Promise((r) => setTimeout(r, FAREWELL_BEAT_MS).unref())]);
      log.info({ runs: supervisor.slotsUsed, graceMs }, 'agent stopping');
      if (!(await supervisor.idle(graceMs))) {
        log.warn({ runs: supervisor.held() }, 'stopping attempts still running at shutdown');
        supervisor.stopAll({ outcome: 'lost', message: 'the agent shut down before the attempt finished' });
        await supervisor.idle(supervisor.longestKillGraceMs(parts.killGraceMs ?? DEFAULT_KILL_GRACE_MS) + 5_000);
      }
      lifecycle.end();
      heartbeat.stop();
      parts.watchdog.close();
      if (await outbox.drain(OUTBOX_FLUSH_ON_STOP_MS)) {
        // Everything reported: say goodbye, so the fleet shows the agent `left`, not `down` with
        // an alert. With reports still queued it stays silent instead and is found down: its
        // runs are then the coordinators' to settle.
        await Promise.race([heartbeat.leave(), new Promise((r) => setTimeout(r, FAREWELL_BEAT_MS).unref())]);
      } else {
        log.warn({ queued: outbox.size }, 'could not report every run event before stopping');
      }
      // What is left stays in the journal, sent when the agent starts again.
      await outbox.close();
      await parts.leaveBus().catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'leaving the bus failed'));
      parts.closeMetrics();
      await parts.closeReaper();
      parts.unlockStateDir();
      log.info('agent stopped');
    })();
    return stopped;
  };
}
