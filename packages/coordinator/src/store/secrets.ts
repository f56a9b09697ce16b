// Secrets (migrations/0012_secrets.sql): sealed values by (namespace, name). Nothing here ever
// returns a value in the clear except `openSecrets`, which only the dispatcher calls, for an offer.
import { sql } from 'kysely';
import type { Db } from './db.js';
import { openSecret, sealSecret, type SecretsKey } from '../security/secrets-crypto.js';

/** What the API shows of a secret: never its value. */
export interface SecretInfo {
  name: string;
  namespace: string;
  createdAt: string;
  updatedAt: string;
}

/** Sets a secret's value; true when it was created, false when an existing one was replaced. */
export async function putSecret(
  db: Db,
  key: SecretsKey,
  secret: { namespace: string; name: string; value: string; actor: string | null },
): Promise<boolean> {
  const sealed = sealSecret(key, secret.namespace, secret.name, secret.value);
  const row = await db
    .insertInto('secrets')
    .values({
      namespace: secret.namespace,
      name: secret.name,
      nonce: sealed.nonce,
      ciphertext: sealed.ciphertext,
      key_id: sealed.keyId,
      created_by: secret.actor,
    })
    .onConflict((oc) =>
      oc.columns(['namespace', 'name']).doUpdateSet({
        nonce: sealed.nonce,
        ciphertext: sealed.ciphertext,
        key_id: sealed.keyId,
        updated_at: sql<Date>`now()`,
      }),
    )
    // xmax is 0 for a row this statement inserted, set for one it updated.
    .returning(sql<boolean>`(xmax = 0)`.as('created'))
    .executeTakeFirstOrThrow();
  return row.created;
}

/** The secrets of the given namespaces (all when `'all'`), by namespace and name. */
export async function listSecrets(db: Db, namespaces: readonly string[] | 'all'): Promise<SecretInfo[]> {
  if (namespaces !== 'all' && namespaces.length === 0) return [];
  let q = db.selectFrom('secrets').select(['namespace', 'name', 'created_at', 'updated_at']);
  if (namespaces !== 'all') q = q.where('namespace', 'in', [...namespaces]);
  const rows = await q.orderBy('namespace').orderBy('name').execute();
  return rows.map((r) => ({
    name: r.name,
    namespace: r.namespace,
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
  }));
}

/** Deletes a secret; true when it existed. */
export async function deleteSecret(db: Db, namespace: string, name: string): Promise<boolean> {
  const r = await db.deleteFrom('secrets').where('namespace', '=', namespace).where('name', '=', name).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** Which of `names` exist in `namespace`. */
export async function existingSecrets(db: Db, namespace: string, names: readonly string[]): Promise<Set<string>> {
  if (names.length === 0) return new Set();
  const rows = await db
    .selectFrom('secrets')
    .select('name')
    .where('namespace', '=', namespace)
    .where('name', 'in', [...names])
    .execute();
  return new Set(rows.map((r) => r.name));
}

/**
 * The values of the named secrets, decrypted, keyed `namespace\0name`; missing ones are absent.
 * One query for a whole dispatch pass. Throws SecretDecryptionError for a value the key cannot open.
 */
export async function openSecrets(
  db: Db,
  key: SecretsKey,
  wanted: ReadonlyArray<{ namespace: string; name: string }>,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (wanted.length === 0) return out;
  const rows = await db
    .selectFrom('secrets')
    .select(['namespace', 'name', 'nonce', 'ciphertext', 'key_id'])
    .where((eb) => eb.or(wanted.map((w) => eb.and([eb('namespace', '=', w.namespace), eb('name', '=', w.name)]))))
    .execute();
  for (const r of rows) {
    out.set(
      secretKey(r.namespace, r.name),
      openSecret(key, r.namespace, r.name, { nonce: r.nonce, ciphertext: r.ciphertext, keyId: r.key_id }),
    );
  }
  return out;
}

/** The map key of a secret in `openSecrets`' result. */
export const secretKey = (namespace: string, name: string): string => `${namespace}\0${name}`;

/** Key ids the stored secrets were sealed with, and how many under each. */
export async function secretKeyIds(db: Db): Promise<Array<{ keyId: string; count: number }>> {
  const rows = await db
    .selectFrom('secrets')
    .select(['key_id', (eb) => eb.fn.countAll<number>().as('count')])
    .groupBy('key_id')
    .execute();
  return rows.map((r) => ({ keyId: r.key_id, count: Number(r.count) }));
}
