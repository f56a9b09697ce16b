/**
 * Fresh PostgreSQL database per test file, cloned from one template database.
 *
 * The template `drover_tpl_<hash>` is named after the contents of `migrations/*.sql`, so it is
 * built once per schema version (by this file's default export, Vitest's globalSetup for the
 * integration project) and reused across runs until a migration changes. Cloning a template is
 * far cheaper than migrating each test database.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { TestProject } from 'vitest/node';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MIGRATIONS_DIR = join(REPO_ROOT, 'migrations');

/** Admin connection: must be allowed to CREATE/DROP DATABASE. */
export const ADMIN_URL = process.env.DROVER_TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Arbitrary but fixed key for pg_advisory_lock: serialises template builds across concurrent runs. */
const TEMPLATE_LOCK_KEY = 0x64726f76; // 'drov'

declare module 'vitest' {
  export interface ProvidedContext {
    droverTemplateDatabase: string;
  }
}

/** A database URL on the admin server with another database name. */
export function databaseUrl(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Name of the template database for the current contents of `migrations/*.sql`. */
export async function templateDatabaseName(): Promise<string> {
  const files = (await readdir(MIGRATIONS_DIR).catch(() => [] as string[])).filter((f) => f.endsWith('.sql')).sort();
  const hash = createHash('sha256');
  for (const file of files) {
    hash
      .update(file)
      .update('\0')
      .update(await readFile(join(MIGRATIONS_DIR, file)))
      .update('\0');
  }
  return `drover_tpl_${hash.digest('hex').slice(0, 12)}`;
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function databaseExists(client: pg.Client, name: string): Promise<boolean> {
  const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return rowCount === 1;
}

const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/**
 * Builds the template database if it does not exist yet and returns its name.
 *
 * Built under a temporary name and renamed when complete, so an interrupted build never leaves
 * a half-migrated template behind; the advisory lock makes concurrent runs wait for one builder.
 */
export async function ensureTemplateDatabase(): Promise<string> {
  const template = await templateDatabaseName();
  return withAdmin(async (admin) => {
    await admin.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK_KEY]);
    try {
      if (await databaseExists(admin, template)) return template;
      const building = `${template}_building`;
      await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(building)} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${quoteIdent(building)}`);
      try {
        // Imported here only: workers that merely clone the template never load the coordinator.
        let coordinator: { migrateToLatest?: (databaseUrl: string) => Promise<unknown> };
        try {
          coordinator = await import('@drover/coordinator');
        } catch (err) {
          throw new Error(`cannot load @drover/coordinator (is it built? \`npm test\` builds first): ${(err as Error).message}`, {
            cause: err,
          });
        }
        if (typeof coordinator.migrateToLatest !== 'function') {
          throw new Error('@drover/coordinator does not export migrateToLatest(databaseUrl)');
        }
        await coordinator.migrateToLatest(databaseUrl(building));
        // A migrator that left a connection open would make the rename (and every clone) fail.
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [
          building,
        ]);
        await admin.query(`ALTER DATABASE ${quoteIdent(building)} RENAME TO ${quoteIdent(template)}`);
      } catch (err) {
        await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(building)} WITH (FORCE)`).catch(() => undefined);
        throw err;
      }
      return template;
    } finally {
      await admin.query('SELECT pg_advisory_unlock($1)', [TEMPLATE_LOCK_KEY]).catch(() => undefined);
    }
  });
}

/** Vitest globalSetup (integration project): build the template once, before any worker starts. */
export default async function setup(project: TestProject): Promise<void> {
  const template = await ensureTemplateDatabase();
  project.provide('droverTemplateDatabase', template);
}

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  /** Drops the database, closing any connection still open to it. Safe to call twice. */
  drop(): Promise<void>;
}

async function providedTemplate(): Promise<string> {
  try {
    const { inject } = await import('vitest');
    const name = inject('droverTemplateDatabase');
    if (name) return name;
  } catch {
    // Not inside a Vitest worker: fall back to the name derived from the migrations.
  }
  return templateDatabaseName();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Creates `drover_t_<random>` as a copy of the template database. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const template = await providedTemplate();
  const name = `drover_t_${randomBytes(6).toString('hex')}`;
  await withAdmin(async (admin) => {
    if (!(await databaseExists(admin, template))) {
      throw new Error(
        `template database ${template} does not exist: it is built by test/support/database.ts (the integration globalSetup)`,
      );
    }
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(template)}`);
        return;
      } catch (err) {
        // 55006 object_in_use: "source database is being accessed by other users".
        if ((err as { code?: string }).code !== '55006' || attempt >= 50) throw err;
        await sleep(50 + Math.random() * 150);
      }
    }
  });
  let dropped = false;
  return {
    name,
    url: databaseUrl(name),
    async drop() {
      if (dropped) return;
      await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
      dropped = true;
    },
  };
}
