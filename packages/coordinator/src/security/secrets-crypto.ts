// Secret values at rest: AES-256-GCM under the key from configuration (`secretsKey` or
// `secretsKeyFile`). Each value gets a fresh 96-bit nonce; the secret's namespace and name are
// authenticated with it (associated data), so a ciphertext copied onto another secret's row
// does not decrypt. Rows also record the key's id (a fingerprint that reveals nothing of the
// key), so a coordinator started with another key says so instead of failing on every value.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { DroverError } from '@drover/shared';

const ALGORITHM = 'aes-256-gcm';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** A loaded secrets key and its id. */
export interface SecretsKey {
  readonly key: Buffer;
  /** `k1:` + the first 16 hex digits of SHA-256 over a label and the key: safe to store and show. */
  readonly id: string;
}

/** A value as stored: nonce, and ciphertext with its GCM tag appended. */
export interface SealedSecret {
  nonce: Buffer;
  ciphertext: Buffer;
  keyId: string;
}

/** Raised when a stored value cannot be opened: wrong key, or the row was tampered with. */
export class SecretDecryptionError extends DroverError {
  override name = 'SecretDecryptionError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('SECRET_UNREADABLE', message, options);
  }
}

/** The id of a key, as stored beside every value it sealed. */
export function secretsKeyId(key: Buffer): string {
  return `k1:${createHash('sha256').update('drover secrets key id\0').update(key).digest('hex').slice(0, 16)}`;
}

/**
 * Parses a 32-byte key given as 64 hex digits or as base64 (standard or url-safe); throws
 * with a reason (the caller names the setting) for anything else.
 */
export function parseSecretsKey(text: string): SecretsKey {
  const t = text.trim();
  let key: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(t)) key = Buffer.from(t, 'hex');
  else if (/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(t)) key = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (!key || key.length !== 32)
    throw new Error('must be a 32-byte key as 64 hex digits or 44 base64 characters; make one with "openssl rand -hex 32"');
  return { key, id: secretsKeyId(key) };
}

const aad = (namespace: string, name: string) => Buffer.from(`drover-secret\0${namespace}\0${name}`, 'utf8');

/** Encrypts one secret value for (namespace, name). */
export function sealSecret(key: SecretsKey, namespace: string, name: string, value: string): SealedSecret {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv(ALGORITHM, key.key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad(namespace, name));
  const ciphertext = Buffer.concat([cipher.update(value, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return { nonce, ciphertext, keyId: key.id };
}

/** Decrypts one stored value; throws SecretDecryptionError when the key is wrong or the row was altered. */
export function openSecret(key: SecretsKey, namespace: string, name: string, sealed: SealedSecret): string {
  if (sealed.keyId !== key.id) {
    throw new SecretDecryptionError(
      `secret "${name}" in namespace "${namespace}" was encrypted with key ${sealed.keyId}, but the configured secrets key is ${key.id}`,
    );
  }
  if (sealed.ciphertext.length < TAG_BYTES || sealed.nonce.length !== NONCE_BYTES)
    throw new SecretDecryptionError(`secret "${name}" in namespace "${namespace}" is malformed in the database`);
  try {
    const decipher = createDecipheriv(ALGORITHM, key.key, sealed.nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad(namespace, name));
    decipher.setAuthTag(sealed.ciphertext.subarray(sealed.ciphertext.length - TAG_BYTES));
    return Buffer.concat([decipher.update(sealed.ciphertext.subarray(0, sealed.ciphertext.length - TAG_BYTES)), decipher.final()]).toString(
      'utf8',
    );
  } catch (err) {
    throw new SecretDecryptionError(
      `secret "${name}" in namespace "${namespace}" does not decrypt with the configured key: it was altered, or sealed under another key with the same id`,
      { cause: err },
    );
  }
}
