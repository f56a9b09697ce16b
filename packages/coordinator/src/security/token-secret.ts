// Token strings and their hashes. A token is `drv_` + 32 random bytes (base64url): long enough
// that a hash lookup needs no salt or slow KDF, since nobody can guess one.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const TOKEN_PREFIX = 'drv_';

/** A new random token string, shown to its creator once and never stored. */
export function newTokenSecret(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** The SHA-256 of a token string: what the database keeps and looks tokens up by. */
export function hashTokenSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** Constant-time comparison of two hashes. */
export function sameHash(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
