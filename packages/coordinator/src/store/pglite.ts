// Embedded PostgreSQL (PGlite: PostgreSQL compiled to WebAssembly) for `drover dev`: the same
// SQL as the server, in this process, kept in a directory (`pglite:<dir>`) or in memory
// (`pglite:memory`). Only the Kysely dialect differs. PGlite is one connection, so every
// Kysely instance of a process over the same URL shares one PGlite, closed with the last.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Kysely, PGliteDialect } from 'kysely';
import { PGlite } from '@electric-sql/pglite';
import { holdLockFile } from '@drover/shared';
import type { Database } from './schema.js';

export const PGLITE_SCHEME = 'pglite:';

/** Whether a database URL names embedded PostgreSQL. */
export const isPgliteUrl = (url: string): boolean => url.startsWith(PGLITE_SCHEME);

/** The directory a `pglite:` URL keeps its data in, or undefined for `pglite:memory`. */
export function pgliteDirectory(url: string): string | undefined {
  const rest = url.slice(PGLITE_SCHEME.length).replace(/^\/\//, '');
  return rest === '' || rest === 'memory' ? undefined : path.resolve(rest);
}

/** Open instances by directory (`memory` for the in-memory one); the promise is stored at once, so concurrent opens share. */
const open = new Map<string, { pglite: Promise<PGlite>; refs: number; unlock: () => void }>();
const keyOf = (url: string): string => pgliteDirectory(url) ?? 'memory';

async function acquire(url: string): Promise<PGlite> {
  const key = keyOf(url);
  const found = open.get(key);
  if (found) {
    found.refs++;
    return found.pglite;
  }
  const dir = pgliteDirectory(url);
  let unlock = () => undefined as void;
  if (dir) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Another process on the same files would corrupt them: one process per directory.
    unlock = holdLockFile(`${dir}.lock`, `the embedded database in ${dir}`);
  }
  // int8 (bigint, count(*)) as JS numbers, as with the server: tokens and counts stay far below 2^53.
  const pglite = (async () => {
    const db = new PGlite(dir, { parsers: { 20: (v: string) => Number(v) } });
    await db.waitReady;
    return db;
  })();
  open.set(key, { pglite, refs: 1, unlock });
  try {
    return await pglite;
  } catch (err) {
    open.delete(key);
    unlock();
    throw err;
  }
}

async function release(url: string): Promise<void> {
  const key = keyOf(url);
  const found = open.get(key);
  if (!found || --found.refs > 0) return;
  open.delete(key);
  await (await found.pglite).close();
  found.unlock();
}

type Transaction = Parameters<Parameters<PGlite['transaction']>[0]>[0];

/**
 * `query` as Kysely calls it, except that a statement without parameters goes through the
 * simple protocol, which takes several statements at once (a migration file); the extended
 * protocol, used with parameters, takes one.
 */
function queryOf(target: PGlite | Transaction) {
  return async (text: string, params?: unknown[], options?: Parameters<PGlite['query']>[2]) => {
    if (params && params.length > 0) return target.query(text, params, options);
    const results = await target.exec(text, options);
    return results[results.length - 1] ?? { rows: [], fields: [], affectedRows: 0 };
  };
}

/** A Kysely over the process's PGlite for `url`; destroying it releases its share. */
export async function openPglite(url: string): Promise<Kysely<Database>> {
  const pglite = await acquire(url);
  let released = false;
  // What Kysely sees: the shared instance, except that closing gives back this share only.
  const share = {
    get closed() {
      return released || pglite.closed;
    },
    get ready() {
      return pglite.ready;
    },
    waitReady: pglite.waitReady,
    query: queryOf(pglite),
    transaction: <T>(callback: (tx: Transaction) => Promise<T>) =>
      pglite.transaction((tx) => callback(Object.assign(Object.create(tx) as Transaction, { query: queryOf(tx) }))),
    async close() {
      if (released) return;
      released = true;
      await release(url);
    },
  };
  return new Kysely<Database>({ dialect: new PGliteDialect({ pglite: share as unknown as PGlite }) });
}

/** Listens on a channel of the process's PGlite for `url`; the returned function stops and releases it. */
export async function listenPglite(url: string, channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>> {
  const pglite = await acquire(url);
  try {
    const unlisten = await pglite.listen(channel, onPayload);
    return async () => {
      await unlisten().catch(() => undefined);
      await release(url);
    };
  } catch (err) {
    await release(url);
    throw err;
  }
}
