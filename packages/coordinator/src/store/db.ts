// The PostgreSQL connection: one Kysely instance per process over a pg pool.
import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';
import { Kysely, PostgresDialect, sql, type DialectAdapter } from 'kysely';
import { DroverError } from '@drover/shared';
import type { Database } from './schema.js';
import { isPgliteUrl, openPglite, pgliteDirectory } from './pglite.js';

// int8 (bigint, count(*)) as JS numbers: attempt tokens and counts stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

export type Db = Kysely<Database>;

/** pg's `ssl` option (security/tls.ts databaseSsl); undefined leaves TLS to the URL's `sslmode`. */
export type DatabaseSsl = false | ConnectionOptions | undefined;

/** Where a database URL points, without its password, for messages. */
export function describeDatabaseUrl(url: string): string {
  if (isPgliteUrl(url)) return `embedded PostgreSQL (PGlite) ${pgliteDirectory(url) ?? 'in memory'}`;
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || 5432}${u.pathname}`;
  } catch {
    return 'the configured database';
  }
}

/** Runs `work` in one transaction: it commits when `work` resolves and rolls back when it throws. */
export async function inTransaction<T>(db: Db, work: (trx: Db) => Promise<T>): Promise<T> {
  return db.transaction().execute(work);
}

/** Asks PostgreSQL for an answer (a readiness probe). */
export async function pingDatabase(db: Db): Promise<void> {
  await sql`SELECT 1`.execute(db);
}

/** Opens a pool and checks that PostgreSQL answers, failing with an error that says what to do. */
export async function openDatabase(
  url: string,
  opts: { poolSize?: number; ssl?: DatabaseSsl; adapter?: () => DialectAdapter } = {},
): Promise<Db> {
  if (isPgliteUrl(url)) return openPglite(url);
  const pool = new pg.Pool({
    connectionString: url,
    ...(opts.ssl !== undefined ? { ssl: opts.ssl } : {}),
    max: opts.poolSize ?? 10,
    connectionTimeoutMillis: 5000,
  });
  // An idle client that loses its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    await pool.end().catch(() => undefined);
    if ((err as { code?: string }).code === '3D000') {
      throw new DroverError(
        'DATABASE_MISSING',
        `PostgreSQL at ${describeDatabaseUrl(url)} has no such database: run "drover migrate up", which creates it, or create it yourself (createdb).`,
        { cause: err },
      );
    }
    throw new DroverError(
      'DATABASE_UNREACHABLE',
      `cannot reach PostgreSQL at ${describeDatabaseUrl(url)}: ${(err as Error).message}. Is it running? Set DROVER_DATABASE_URL or --database-url.`,
      { cause: err },
    );
  }
  const dialect = new PostgresDialect({ pool });
  if (opts.adapter) dialect.createAdapter = opts.adapter;
  return new Kysely<Database>({ dialect });
}

/** Creates the database named in the URL if the server does not have it yet; returns true if it did. */
export async function ensureDatabaseExists(url: string, ssl?: DatabaseSsl): Promise<boolean> {
  if (isPgliteUrl(url)) return false; // created on first open
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) return false;
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({
    connectionString: admin.toString(),
    connectionTimeoutMillis: 5000,
    ...(ssl !== undefined ? { ssl } : {}),
  });
  try {
    await client.connect();
  } catch (err) {
    throw new DroverError(
      'DATABASE_UNREACHABLE',
      `cannot reach PostgreSQL at ${describeDatabaseUrl(url)}: ${(err as Error).message}. Is it running? Set DROVER_DATABASE_URL or --database-url.`,
      { cause: err },
    );
  }
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount) return false;
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
    return true;
  } finally {
    await client.end();
  }
}
