// Schema migrations: append-only SQL files in the repository's `migrations/` folder, each
// with an up part and a down part separated by a line `-- migrate:down`, applied in name
// order by Kysely's Migrator (which records them and takes a lock so two coordinators
// starting together do not both migrate). On PostgreSQL the pending migrations run in one
// transaction holding a transaction-scoped lock, so they work through a pooler in transaction
// mode (PgBouncer), which may hand each transaction another server connection.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PostgresAdapter, sql, type Kysely } from 'kysely';
import { Migrator, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely/migration';
import { existsSync } from 'node:fs';
import { DroverError } from '@drover/shared';
import { openDatabase, type DatabaseSsl, type Db } from './db.js';
import { isPgliteUrl } from './pglite.js';

/**
 * Where the SQL files live: `DROVER_MIGRATIONS_DIR`, else the package's own copy (an installed
 * package, see scripts/pack.mjs), else the repository's `migrations/`.
 */
export function migrationsDir(): string {
  if (process.env.DROVER_MIGRATIONS_DIR) return process.env.DROVER_MIGRATIONS_DIR;
  const here = path.dirname(fileURLToPath(import.meta.url));
  const packaged = path.resolve(here, '../../migrations');
  return existsSync(packaged) ? packaged : path.resolve(here, '../../../../migrations');
}

const DOWN_MARKER = /^--\s*migrate:down\s*$/m;

/** Reads `NNNN_name.sql` files into Kysely migrations. */
export class SqlFileMigrationProvider implements MigrationProvider {
  constructor(private readonly dir: string) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    const files = (await readdir(this.dir)).filter((f) => f.endsWith('.sql')).sort();
    const out: Record<string, Migration> = {};
    for (const file of files) {
      const text = await readFile(path.join(this.dir, file), 'utf8');
      const [up = '', down = ''] = text.split(DOWN_MARKER);
      out[file.replace(/\.sql$/, '')] = {
        up: async (db) => void (await sql.raw(up).execute(db)),
        down: async (db) => void (await sql.raw(down).execute(db)),
      };
    }
    return out;
  }
}

// The migrator works on any schema: migrations create the tables the typed schema describes.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function migratorFor(db: Kysely<any>): Migrator {
  return new Migrator({
    db,
    provider: new SqlFileMigrationProvider(migrationsDir()),
    migrationTableName: 'drover_migrations',
    migrationLockTableName: 'drover_migrations_lock',
  });
}

function check(result: MigrationResultSet): MigrationResultSet {
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error');
    throw new DroverError('MIGRATION_FAILED', `migration ${failed?.migrationName ?? ''} failed: ${(result.error as Error).message}`, {
      cause: result.error,
    });
  }
  return result;
}

// Kysely's own key, so a migrator of an older Drover and this one still exclude each other.
const MIGRATION_LOCK_ID = BigInt('3853314791062309107');

/** Takes the migration lock until the transaction `db` runs in ends (taking it twice is harmless). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function lockMigrations(db: Kysely<any>): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(${sql.lit(MIGRATION_LOCK_ID)})`.execute(db);
}

/** Kysely's PostgreSQL adapter with the migration lock held until the transaction ends. */
class TransactionLockAdapter extends PostgresAdapter {
  override async acquireMigrationLock(db: Kysely<unknown>): Promise<void> {
    await lockMigrations(db);
  }
  // Released by the transaction's commit or rollback.
  override async releaseMigrationLock(): Promise<void> {}
}

/** Runs `step` with the migrator, in one transaction on PostgreSQL (check() throws, so a failure rolls back). */
async function migrate(
  databaseUrl: string,
  ssl: DatabaseSsl,
  step: (m: Migrator) => Promise<MigrationResultSet>,
): Promise<MigrationResultSet> {
  if (isPgliteUrl(databaseUrl)) {
    const db = await openDatabase(databaseUrl, { poolSize: 1, ssl });
    try {
      return check(await step(migratorFor(db)));
    } finally {
      await db.destroy();
    }
  }
  const db: Db = await openDatabase(databaseUrl, { poolSize: 1, ssl, adapter: () => new TransactionLockAdapter() });
  try {
    return await db.transaction().execute(async (tx) => {
      // Before the migrator creates its tables: two creating them at once, one would fail.
      await lockMigrations(tx);
      return check(await step(migratorFor(tx)));
    });
  } finally {
    await db.destroy();
  }
}

/** Applies every pending migration. */
export async function migrateToLatest(databaseUrl: string, ssl?: DatabaseSsl): Promise<MigrationResultSet> {
  return migrate(databaseUrl, ssl, (m) => m.migrateToLatest());
}

/** Reverts the most recent migration. */
export async function migrateDown(databaseUrl: string, ssl?: DatabaseSsl): Promise<MigrationResultSet> {
  return migrate(databaseUrl, ssl, (m) => m.migrateDown());
}

/** Every known migration and whether it has been applied. */
export async function migrationStatus(
  databaseUrl: string,
  ssl?: DatabaseSsl,
): Promise<Array<{ name: string; executedAt: Date | undefined }>> {
  const db = await openDatabase(databaseUrl, { poolSize: 1, ssl });
  try {
    const list = await migratorFor(db).getMigrations();
    return list.map((m) => ({ name: m.name, executedAt: m.executedAt }));
  } finally {
    await db.destroy();
  }
}
