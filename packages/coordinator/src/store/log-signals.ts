// Wake-ups for log followers: one dedicated PostgreSQL connection per coordinator LISTENs on
// `drover_logs`, which the database notifies with a run's id when chunks of it commit and when
// it ends (migrations/0017_log_notify.sql). A notification lost while that connection is away
// is covered by `onAll` after each (re)connect and by the followers' slow poll.
import pg from 'pg';
import type { Logger } from 'pino';
import type { DatabaseSsl } from './db.js';
import { isPgliteUrl, listenPglite } from './pglite.js';

export const LOG_CHANNEL = 'drover_logs';

/** What a notification wakes: `onRun` for one run, `onAll` when notifications may have been missed. */
export interface LogSignalHandlers {
  onRun(runId: string): void;
  onAll(): void;
}

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10_000;

/** Keeps one LISTEN connection open, reconnecting with backoff, until stopped. */
export class LogSignals {
  private client: pg.Client | undefined;
  private unlistenPglite: (() => Promise<void>) | undefined;
  private stopped = false;
  private retryMs = RETRY_MIN_MS;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly url: string,
    private readonly ssl: DatabaseSsl,
    private readonly handlers: LogSignalHandlers,
    private readonly log: Logger,
  ) {}

  /** Starts listening; failures are retried in the background, never thrown. */
  start(): void {
    void this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    if (isPgliteUrl(this.url)) {
      try {
        this.unlistenPglite = await listenPglite(this.url, LOG_CHANNEL, (runId) => this.handlers.onRun(runId));
        if (this.stopped) await this.unlistenPglite();
      } catch (err) {
        this.log.warn({ err }, 'cannot listen for log notifications; followers fall back to polling');
      }
      return;
    }
    const client = new pg.Client({
      connectionString: this.url,
      ...(this.ssl !== undefined ? { ssl: this.ssl } : {}),
      connectionTimeoutMillis: 5000,
      application_name: 'drover-log-listener',
    });
    this.client = client;
    let failed = false;
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      this.client = undefined;
      void client.end().catch(() => undefined);
      if (this.stopped) return;
      this.log.warn({ err, retryInMs: this.retryMs }, 'lost the log notification connection; reconnecting, followers poll meanwhile');
      this.retryTimer = setTimeout(() => void this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
    };
    client.on('error', fail);
    client.on('end', () => fail(new Error('connection ended')));
    client.on('notification', (n) => {
      if (n.channel === LOG_CHANNEL && n.payload) this.handlers.onRun(n.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${LOG_CHANNEL}`);
      this.retryMs = RETRY_MIN_MS;
      // Chunks committed while nobody listened notified no one: every follower reads once.
      this.handlers.onAll();
    } catch (err) {
      fail(err);
    }
  }

  /** Closes the connection and stops reconnecting. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    if (client) await client.end().catch(() => undefined);
    if (this.unlistenPglite) await this.unlistenPglite().catch(() => undefined);
  }
}
