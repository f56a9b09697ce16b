/**
 * A private redis-server for tests that break Redis (flush, stop, restart): on a free port,
 * without persistence, so a restart loses everything as a real one without AOF/RDB would. The
 * shared Redis on 6379 is never touched.
 */
import { Redis } from 'ioredis';
import { freePort } from './ports.js';
import { spawnInEnv, type DroverProcess } from './processes.js';
import type { TestEnv } from './isolation.js';

const REDIS_SERVER = process.env.DROVER_TEST_REDIS_SERVER ?? 'redis-server';

export interface PrivateRedis {
  readonly url: string;
  /** Deletes every key (FLUSHALL). */
  flushAll(): Promise<void>;
  /** Kills the server (SIGKILL); everything it held is gone. */
  kill(): Promise<void>;
  /** Starts it again, empty, on the same port. */
  start(): Promise<void>;
  /** A client of its own (disconnect it when done). */
  client(): Promise<Redis>;
}

/** Starts a private redis-server, stopped at env cleanup. */
export async function startPrivateRedis(env: TestEnv): Promise<PrivateRedis> {
  const port = await freePort();
  let proc: DroverProcess | undefined;
  const self: PrivateRedis = {
    url: `redis://127.0.0.1:${port}`,
    async flushAll() {
      const c = await self.client();
      try {
        await c.flushall();
      } finally {
        c.disconnect();
      }
    },
    async kill() {
      await proc?.kill();
      proc = undefined;
    },
    async start() {
      proc = spawnInEnv(env, REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
        name: 'redis-server',
      });
      await proc.waitForLine((l) => /Ready to accept connections/.test(l.text));
    },
    async client() {
      const c = new Redis(self.url, { lazyConnect: true, maxRetriesPerRequest: 2 });
      await c.connect();
      return c;
    },
  };
  await self.start();
  return self;
}
