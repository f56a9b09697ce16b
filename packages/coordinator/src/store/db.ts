// The PostgreSQL connection: one Kysely instance per process over a pg pool.
import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import { DroverError } from '@drover/shared';
import type { Database } from './schema.js';

// int8 (bigint, count(*)) as JS numbers: attempt tokens and counts stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

export type Db = Kysely<Database>;

/** Where a database URL points, without its password, for messages. */
export function describeDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || 5432}${u.pathname}`;
  } catch {
    return 'the configured database';
  }
}

/** Opens a pool and checks that PostgreSQL answers, failing with an error that says what to do. */
export async function openDatabase(url: string, opts: { poolSize?: number; asyncCommit?: boolean } = {}): Promise<Db> {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolSize ?? 10,
    connectionTimeoutMillis: 5000,
    ...(opts.asyncCommit ? { options: '-c synchronous_commit=off' } : {}),
  });
  // An idle client that loses its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new DroverError(
      'DATABASE_UNREACHABLE',
      `cannot reach PostgreSQL at ${describeDatabaseUrl(url)}: ${(err as Error).message}. Is it running? Set DROVER_DATABASE_URL or --database-url.`,
      { cause: err },
    );
  }
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
