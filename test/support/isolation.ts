/**
 * One isolated Drover environment per test (or test file) on the shared local servers:
 * its own PostgreSQL database, its own Redis key prefix and its own NATS namespace.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { connect as connectNats } from 'nats';
import { createTestDatabase } from './database.js';

export const REDIS_URL = process.env.DROVER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const NATS_URL = process.env.DROVER_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

export interface TestEnv {
  readonly databaseUrl: string;
  readonly redisUrl: string;
  /** Every Redis key of this env starts with it, e.g. `drover-t-k3x9q2ma:`. */
  readonly redisPrefix: string;
  readonly natsUrl: string;
  /** NATS subject/stream namespace, e.g. `tk3x9q2ma`. */
  readonly namespace: string;
  /** Registers work for cleanup(), run before the env's own teardown, last registered first. */
  onCleanup(fn: () => unknown): void;
  /**
   * Kills every process started in this env, drops the database, deletes the env's Redis keys
   * and the JetStream streams named after its namespace. Safe to call twice.
   */
  cleanup(): Promise<void>;
}

/** Lower-case letters and digits: valid in database names, Redis keys, NATS subjects and stream names. */
export function randomId(length = 8): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(randomBytes(length), (b) => alphabet[b % alphabet.length]).join('');
}

/** Deletes every key starting with `prefix`; returns how many were deleted. */
export async function deleteRedisKeys(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  try {
    const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
    return deleted;
  } finally {
    redis.disconnect();
  }
}

/** Deletes the JetStream streams (KV buckets and object stores included) whose name or subjects mention `token`. */
export async function deleteJetStreamStreams(natsUrl: string, token: string): Promise<string[]> {
  const nc = await connectNats({ servers: natsUrl, timeout: 5_000 });
  try {
    const jsm = await nc.jetstreamManager();
    const needle = token.toLowerCase();
    const doomed: string[] = [];
    for await (const info of jsm.streams.list()) {
      const names = [info.config.name, ...(info.config.subjects ?? [])].map((s) => s.toLowerCase());
      if (names.some((s) => s.includes(needle))) doomed.push(info.config.name);
    }
    for (const name of doomed) await jsm.streams.delete(name);
    return doomed;
  } finally {
    await nc.close();
  }
}

/** Creates a fresh database (from the template), a Redis key prefix and a NATS namespace. */
export async function createTestEnv(): Promise<TestEnv> {
  const id = randomId();
  const database = await createTestDatabase();
  const cleanups: Array<() => unknown> = [];
  let cleaned: Promise<void> | undefined;

  const env: TestEnv = {
    databaseUrl: database.url,
    redisUrl: REDIS_URL,
    redisPrefix: `drover-t-${id}:`,
    natsUrl: NATS_URL,
    namespace: `t${id}`,
    onCleanup(fn) {
      cleanups.push(fn);
    },
    cleanup() {
      cleaned ??= (async () => {
        const errors: unknown[] = [];
        const attempt = async (fn: () => unknown) => {
          try {
            await fn();
          } catch (err) {
            errors.push(err);
          }
        };
        // Processes first: they hold connections to everything below.
        for (const fn of cleanups.splice(0).reverse()) await attempt(fn);
        await attempt(() => database.drop());
        await attempt(() => deleteRedisKeys(env.redisUrl, env.redisPrefix));
        await attempt(() => deleteJetStreamStreams(env.natsUrl, env.namespace));
        if (errors.length > 0) throw new AggregateError(errors, `test env ${env.namespace}: cleanup failed`);
      })();
      return cleaned;
    },
  };
  return env;
}
