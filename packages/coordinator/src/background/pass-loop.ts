// The "wake, run a pass, sleep until the next one" loop that the dispatcher, the scheduler and
// the action runner share. A kick asks for a pass as soon as possible; kicks that arrive during
// a pass coalesce into one more pass right after it. A pass says when the next one is due (or
// that only a kick brings it); a pass that throws is logged and retried after `retryMs`.
// Stopping ends the loop: no pass starts after it, and `stop` waits for the one in flight.
import { injectFault, type FailureLog } from '@drover/shared';

export interface PassLoopOptions {
  /** What a pass does, for logs and fault injection (e.g. 'dispatch pass'). */
  name: string;
  failures: FailureLog;
  /** One pass; returns in how many ms the next is due, or undefined to wait for a kick. */
  pass: () => Promise<number | undefined>;
  /** The wait before a pass that failed is tried again. */
  retryMs: number;
}

export class PassLoop {
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: PassLoopOptions) {}

  /** Asks for a pass as soon as possible; kicks during a pass coalesce into one more. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.running = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.run());
  }

  /** True when a kick arrived since the current pass began: another pass follows it. */
  get kickedDuringPass(): boolean {
    return this.again;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Ends the loop: no pass starts after this; resolves once the pass in flight (if any) ends. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private async run(): Promise<void> {
    let next: number | undefined;
    try {
      if (this.stopped) return;
      injectFault(this.opts.name);
      do {
        this.again = false;
        next = await this.opts.pass();
      } while (this.again && !this.stopped);
      this.opts.failures.succeeded(this.opts.name);
    } catch (err) {
      this.opts.failures.failed(this.opts.name, err, { retryInMs: this.opts.retryMs });
      next = this.opts.retryMs;
    } finally {
      this.running = undefined;
    }
    if (this.stopped || next === undefined) return;
    this.timer = setTimeout(() => this.kick(), Math.max(0, next));
    this.timer.unref();
  }
}
