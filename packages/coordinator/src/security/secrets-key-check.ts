// At start-up: does the configured secrets key open the secrets already stored? A coordinator
// given another key (a typo, a rotated file) stops with a message naming the setting, instead of
// leaving every job that uses a secret queued.
import type { Logger } from 'pino';
import { DroverError } from '@drover/shared';
import type { Db } from '../store/db.js';
import { secretKeyIds } from '../store/secrets.js';
import type { SecretsKey } from './secrets-crypto.js';

/** Raised when the configured secrets key is not the one the stored secrets were sealed with. */
export class SecretsKeyMismatchError extends DroverError {
  override name = 'SecretsKeyMismatchError';
  constructor(message: string) {
    super('SECRETS_KEY_MISMATCH', message);
  }
}

/** Returns the key when it matches the stored secrets (or there are none); throws when it does not. */
export async function checkSecretsKey(db: Db, key: SecretsKey | undefined, log: Logger): Promise<SecretsKey | undefined> {
  const stored = await secretKeyIds(db);
  const total = stored.reduce((n, s) => n + s.count, 0);
  if (!key) {
    if (total > 0)
      log.warn(
        { secrets: total },
        `${total} secret(s) are stored but no secrets key is configured (DROVER_SECRETS_KEY or --secrets-key-file): jobs that use them stay queued`,
      );
    return undefined;
  }
  const other = stored.filter((s) => s.keyId !== key.id);
  if (other.length > 0) {
    const n = other.reduce((sum, s) => sum + s.count, 0);
    throw new SecretsKeyMismatchError(
      `the secrets key (DROVER_SECRETS_KEY / --secrets-key / --secrets-key-file) has id ${key.id}, but ${n} stored secret(s) were encrypted with key ${other.map((s) => s.keyId).join(', ')}: start with the key they were set with, or delete and set them again`,
    );
  }
  log.info({ keyId: key.id, secrets: total }, 'secrets key loaded');
  return key;
}
