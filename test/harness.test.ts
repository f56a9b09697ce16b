// The harness itself: each env gets its own database, Redis keys and processes, and
// cleanup() really removes them. Needs PostgreSQL and Redis, not the coordinator.
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestEnv, randomId, spawnInEnv, type TestEnv } from './support/index.js';

const redis = new Redis('redis://127.0.0.1:6379');
afterAll(() => redis.disconnect());

async function databaseExists(url: string): Promise<boolean> {
  const name = new URL(url).pathname.slice(1);
  const admin = new pg.Client({ connectionString: process.env.DROVER_TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    return rowCount === 1;
  } finally {
    await admin.end();
  }
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

// A stand-in for a drover process: prints pino-style lines, then waits to be killed.
const FAKE = `
  console.log(JSON.stringify({ level: 30, msg: 'api listening', url: 'http://127.0.0.1:1', ns: process.env.DROVER_CLUSTER }));
  console.error('plain stderr line');
  setInterval(() => {}, 1000);
`;

describe('test environment', () => {
  it('gives each env its own database, Redis prefix and namespace', async () => {
    const [a, b] = await Promise.all([createTestEnv(), createTestEnv()]);
    try {
      expect(a.databaseUrl).not.toBe(b.databaseUrl);
      expect(a.redisPrefix).not.toBe(b.redisPrefix);
      expect(a.namespace).not.toBe(b.namespace);
      expect(a.redisPrefix).toMatch(/^drover-t-[a-z0-9]+:$/);
      expect(a.namespace).toMatch(/^t[a-z0-9]+$/);

      const client = new pg.Client({ connectionString: a.databaseUrl });
      await client.connect();
      try {
        const { rows } = await client.query<{ db: string }>('SELECT current_database() AS db');
        expect(rows[0]?.db).toMatch(/^drover_t_[0-9a-f]+$/);
      } finally {
        await client.end();
      }
    } finally {
      await Promise.all([a.cleanup(), b.cleanup()]);
    }
  });

  it('cleanup drops the database and only the env’s Redis keys', async () => {
    const env: TestEnv = await createTestEnv();
    const outsider = `drover-harness-outsider-${randomId()}`;
    try {
      expect(await databaseExists(env.databaseUrl)).toBe(true);
      await redis.set(`${env.redisPrefix}a`, '1');
      await redis.hset(`${env.redisPrefix}queue:ready`, 'x', '1');
      for (let i = 0; i < 1200; i++) await redis.set(`${env.redisPrefix}bulk:${i}`, '1');
      await redis.set(outsider, '1');

      // A client still connected must not stop the drop.
      const client = new pg.Client({ connectionString: env.databaseUrl });
      await client.connect();
      client.on('error', () => undefined);

      await env.cleanup();
      await env.cleanup(); // idempotent

      expect(await databaseExists(env.databaseUrl)).toBe(false);
      expect(await redis.keys(`${env.redisPrefix}*`)).toEqual([]);
      expect(await redis.exists(outsider)).toBe(1);
      await client.end().catch(() => undefined);
    } finally {
      await redis.del(outsider);
      await env.cleanup();
    }
  });

  it('captures process output and kills processes at cleanup', async () => {
    const env = await createTestEnv();
    try {
      const proc = spawnInEnv(env, process.execPath, ['-e', FAKE], { name: 'fake' });
      const record = await proc.waitForLog('api listening', 10_000);
      expect(record).toMatchObject({ url: 'http://127.0.0.1:1', ns: env.namespace });
      await proc.waitForLine((l) => l.stream === 'stderr' && l.text === 'plain stderr line', 10_000);

      const missing = await proc.waitForLine(() => false, 200).catch((err: Error) => err);
      expect(missing).toBeInstanceOf(Error);
      expect((missing as Error).message).toContain('[fake] {"level":30,"msg":"api listening"');

      expect(isAlive(proc.pid)).toBe(true);
      await env.cleanup();
      expect(proc.exitStatus?.signal).toBe('SIGKILL');
      expect(isAlive(proc.pid)).toBe(false);
    } finally {
      await env.cleanup();
    }
  });

  it('stop() ends a process with SIGTERM, and a wait fails fast when the process exits', async () => {
    const env = await createTestEnv();
    try {
      const proc = spawnInEnv(env, process.execPath, ['-e', FAKE], { name: 'fake' });
      await proc.waitForLog('api listening', 10_000);
      expect(await proc.stop()).toEqual({ code: null, signal: 'SIGTERM' });

      const quitter = spawnInEnv(env, process.execPath, ['-e', 'console.log("bye"); process.exit(3)'], { name: 'quitter' });
      const err = await quitter.waitForLine((l) => l.text === 'never', 10_000).catch((e: Error) => e);
      expect(String(err)).toMatch(/quitter .* exited with code 3[\s\S]*\[quitter\] bye/);
    } finally {
      await env.cleanup();
    }
  });
});
