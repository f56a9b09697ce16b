// The cluster's signing key (migrations/0013_coordinator_key.sql): made by the first
// coordinator to start, read by every other.
import { newAgentKeyPair } from '@drover/shared';
import type { Db } from './db.js';

/** The cluster's key pair, created when none exists yet (two coordinators starting together agree on one). */
export async function loadCoordinatorKey(db: Db): Promise<{ privateKeyPem: string; publicKey: string }> {
  const fresh = newAgentKeyPair();
  await db
    .insertInto('coordinator_keys')
    .values({ id: 'cluster', private_key: fresh.privateKeyPem, public_key: fresh.publicKey })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  const row = await db
    .selectFrom('coordinator_keys')
    .select(['private_key', 'public_key'])
    .where('id', '=', 'cluster')
    .executeTakeFirstOrThrow();
  return { privateKeyPem: row.private_key, publicKey: row.public_key };
}
