// API tokens (migrations/0009_tokens.sql): created, looked up by hash, revoked.
import { sql } from 'kysely';
import { ulid } from 'ulid';
import type { Db } from './db.js';
import type { Role } from '../security/roles.js';
import { hashTokenSecret, newTokenSecret } from '../security/token-secret.js';

export interface TokenRecord {
  id: string;
  name: string;
  role: Role;
  /** Empty for tokens that see every namespace (admins). */
  namespaces: string[];
  createdBy: string | null;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

type Row = {
  id: string;
  name: string;
  role: string;
  namespaces: string[];
  created_by: string | null;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
};

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

function toRecord(r: Row): TokenRecord {
  return {
    id: r.id,
    name: r.name,
    role: r.role as Role,
    namespaces: r.namespaces,
    createdBy: r.created_by,
    createdAt: new Date(r.created_at).toISOString(),
    expiresAt: iso(r.expires_at),
    revokedAt: iso(r.revoked_at),
    lastUsedAt: iso(r.last_used_at),
  };
}

const COLUMNS = ['id', 'name', 'role', 'namespaces', 'created_by', 'created_at', 'expires_at', 'revoked_at', 'last_used_at'] as const;

export interface NewToken {
  name: string;
  role: Role;
  namespaces: string[];
  createdBy: string | null;
  expiresAt?: Date | null;
  /** A given token string (the bootstrap token from the environment); a random one otherwise. */
  secret?: string;
}

/** Creates a token; returns its record and the token string, which is never readable again. */
export async function createToken(db: Db, newToken: NewToken): Promise<{ token: TokenRecord; secret: string }> {
  const secret = newToken.secret ?? newTokenSecret();
  const row = await db
    .insertInto('api_tokens')
    .values({
      id: ulid(),
      name: newToken.name,
      role: newToken.role,
      namespaces: newToken.namespaces,
      secret_hash: hashTokenSecret(secret),
      created_by: newToken.createdBy,
      expires_at: newToken.expiresAt ?? null,
    })
    .returning(COLUMNS)
    .executeTakeFirstOrThrow();
  return { token: toRecord(row as Row), secret };
}

/**
 * The live token (not revoked, not expired) with this token string, or undefined.
 * `now` is passed in so expiry is testable.
 */
export async function findLiveToken(db: Db, secret: string, now: Date): Promise<TokenRecord | undefined> {
  const row = await db
    .selectFrom('api_tokens')
    .select(COLUMNS)
    .where('secret_hash', '=', hashTokenSecret(secret))
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .executeTakeFirst();
  return row ? toRecord(row as Row) : undefined;
}

/** Whether a token with this token string exists at all (live or not): the bootstrap token is created once. */
export async function tokenSecretExists(db: Db, secret: string): Promise<boolean> {
  const row = await db.selectFrom('api_tokens').select('id').where('secret_hash', '=', hashTokenSecret(secret)).executeTakeFirst();
  return row !== undefined;
}

/** Records a use, at most once a minute per token (a write per request would dominate the API's cost). */
export async function touchToken(db: Db, id: string, now: Date): Promise<void> {
  await db
    .updateTable('api_tokens')
    .set({ last_used_at: now })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', new Date(now.getTime() - 60_000))]))
    .execute();
}

/** Tokens, newest first; only those sharing a namespace with `namespaces` unless it is 'all'. */
export async function listTokens(db: Db, namespaces: readonly string[] | 'all'): Promise<TokenRecord[]> {
  let q = db.selectFrom('api_tokens').select(COLUMNS);
  // One array parameter: kysely would spread a bare array into a row, which text[] cannot overlap.
  if (namespaces !== 'all') q = q.where(sql<boolean>`namespaces && ${[...namespaces]}::text[]`);
  const rows = await q.orderBy('id', 'desc').execute();
  return rows.map((r) => toRecord(r as Row));
}

export async function getToken(db: Db, id: string): Promise<TokenRecord | undefined> {
  const row = await db.selectFrom('api_tokens').select(COLUMNS).where('id', '=', id).executeTakeFirst();
  return row ? toRecord(row as Row) : undefined;
}

/** Revokes a token; returns the record, or undefined when there is no such token. Revoking twice keeps the first time. */
export async function revokeToken(db: Db, id: string, now: Date): Promise<TokenRecord | undefined> {
  await db.updateTable('api_tokens').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).execute();
  return getToken(db, id);
}

/** How many live tokens exist (auth is usable only when at least one admin can act). */
export async function countLiveTokens(db: Db, now: Date): Promise<number> {
  const row = await db
    .selectFrom('api_tokens')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** How many live tokens could call the API (agent join tokens cannot). */
export async function countLiveApiTokens(db: Db, now: Date): Promise<number> {
  const row = await db
    .selectFrom('api_tokens')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('revoked_at', 'is', null)
    .where('role', '!=', 'agent')
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
