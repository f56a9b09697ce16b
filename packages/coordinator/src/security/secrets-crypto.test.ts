import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openSecret, parseSecretsKey, sealSecret, SecretDecryptionError } from './secrets-crypto.js';

const key = parseSecretsKey(randomBytes(32).toString('hex'));

describe('secrets crypto', () => {
  it('round-trips a value, unicode and empty included, with a fresh nonce each time', () => {
    for (const value of ['s3cr3t', 'päss wörd ✓ \n', '']) {
      const a = sealSecret(key, 'default', 'api-token', value);
      const b = sealSecret(key, 'default', 'api-token', value);
      expect(a.nonce.equals(b.nonce)).toBe(false);
      if (value !== '') expect(a.ciphertext.includes(Buffer.from(value))).toBe(false);
      expect(openSecret(key, 'default', 'api-token', a)).toBe(value);
    }
  });

  it('detects a tampered ciphertext, nonce or tag', () => {
    const sealed = sealSecret(key, 'default', 'api-token', 'hunter2');
    for (const part of ['ciphertext', 'nonce'] as const) {
      for (const at of [0, sealed[part].length - 1]) {
        const bad = { ...sealed, [part]: Buffer.from(sealed[part]) };
        bad[part][at] = (bad[part][at] ?? 0) ^ 1;
        expect(() => openSecret(key, 'default', 'api-token', bad)).toThrow(SecretDecryptionError);
      }
    }
  });

  it('refuses a value moved to another secret or namespace (authenticated name)', () => {
    const sealed = sealSecret(key, 'team-a', 'api-token', 'hunter2');
    expect(() => openSecret(key, 'team-b', 'api-token', sealed)).toThrow(/does not decrypt/);
    expect(() => openSecret(key, 'team-a', 'other', sealed)).toThrow(/does not decrypt/);
  });

  it('names the key mismatch when opened with another key', () => {
    const other = parseSecretsKey(randomBytes(32).toString('base64'));
    const sealed = sealSecret(key, 'default', 'api-token', 'hunter2');
    expect(() => openSecret(other, 'default', 'api-token', sealed)).toThrow(
      `was encrypted with key ${key.id}, but the configured secrets key is ${other.id}`,
    );
    // Same id, different bytes (forged row): still refused.
    expect(() => openSecret({ key: randomBytes(32), id: key.id }, 'default', 'api-token', sealed)).toThrow(SecretDecryptionError);
  });

  it('parses hex, base64 and base64url keys of 32 bytes, and nothing else', () => {
    const raw = randomBytes(32);
    const ids = [raw.toString('hex'), raw.toString('base64'), raw.toString('base64url'), ` ${raw.toString('hex')}\n`].map(
      (t) => parseSecretsKey(t).id,
    );
    expect(new Set(ids).size).toBe(1);
    expect(ids[0]).toMatch(/^k1:[0-9a-f]{16}$/);
    for (const bad of ['', 'abc', randomBytes(16).toString('hex'), randomBytes(31).toString('base64'), 'z'.repeat(64)])
      expect(() => parseSecretsKey(bad)).toThrow(/32-byte key/);
  });
});
