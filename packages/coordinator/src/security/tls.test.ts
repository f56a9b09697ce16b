// TLS settings compile once at start-up: files read, bad paths and lonely halves refused naming
// the setting, and the pg / ioredis / https options they turn into.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileCoordinatorOptions, databaseTlsOf } from '../options.js';
import { apiHttps, databaseSsl, redisTls } from './tls.js';

let dir: string;
const PEM = (what: string) => `-----BEGIN ${what}-----\nMIIB\n-----END ${what}-----\n`;
const file = (name: string) => join(dir, name);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'drover-tls-opts-'));
  writeFileSync(file('ca.pem'), PEM('CERTIFICATE'));
  writeFileSync(file('cert.pem'), PEM('CERTIFICATE'));
  writeFileSync(file('key.pem'), PEM('PRIVATE KEY'));
  writeFileSync(file('not-pem.txt'), 'hello');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const compile = (flags: Record<string, string>, env: Record<string, string> = {}) => compileCoordinatorOptions({ flags, env });

describe('PostgreSQL TLS', () => {
  it('leaves TLS to the URL unless told, and maps the modes to pg ssl options', () => {
    expect(databaseSsl(databaseTlsOf(compile({})))).toBeUndefined();
    expect(databaseSsl(databaseTlsOf(compile({ 'database-sslmode': 'disable' })))).toBe(false);
    expect(databaseSsl(databaseTlsOf(compile({ 'database-sslmode': 'require' })))).toEqual({ rejectUnauthorized: false });
    const verifyCa = databaseSsl(databaseTlsOf(compile({ 'database-sslmode': 'verify-ca', 'database-ca': file('ca.pem') })));
    expect(verifyCa).toMatchObject({ rejectUnauthorized: true, ca: Buffer.from(PEM('CERTIFICATE')) });
    expect(typeof (verifyCa as { checkServerIdentity?: unknown }).checkServerIdentity).toBe('function');
    // A CA, cert or key alone means verify-full: checked chain and host name.
    const full = databaseSsl(
      databaseTlsOf(
        compile({}, { DROVER_DATABASE_CA: file('ca.pem'), DROVER_DATABASE_CERT: file('cert.pem'), DROVER_DATABASE_KEY: file('key.pem') }),
      ),
    );
    expect(full).toEqual({
      rejectUnauthorized: true,
      ca: Buffer.from(PEM('CERTIFICATE')),
      cert: Buffer.from(PEM('CERTIFICATE')),
      key: Buffer.from(PEM('PRIVATE KEY')),
    });
  });

  it('refuses bad modes, unreadable and non-PEM files, and a cert without its key, naming the setting', () => {
    expect(() => compile({ 'database-sslmode': 'prefer' })).toThrow(
      /--database-sslmode \(DROVER_DATABASE_SSLMODE\).*disable, require, verify-ca, verify-full/,
    );
    expect(() => compile({}, { DROVER_DATABASE_CA: file('missing.pem') })).toThrow(
      `invalid DROVER_DATABASE_CA (--database-ca): cannot read the CA bundle file ${file('missing.pem')}: ENOENT`,
    );
    expect(() => compile({ 'database-ca': file('not-pem.txt') })).toThrow(/--database-ca.*is not a PEM CA bundle/);
    expect(() => compile({ 'database-cert': file('cert.pem') })).toThrow(
      '--database-cert (DROVER_DATABASE_CERT) and --database-key (DROVER_DATABASE_KEY) go together',
    );
  });
});

describe('Redis TLS', () => {
  it('gives ioredis the CA and client certificate for a rediss:// URL', () => {
    const o = compile({
      'redis-url': 'rediss://redis.internal:6380',
      'redis-ca': file('ca.pem'),
      'redis-cert': file('cert.pem'),
      'redis-key': file('key.pem'),
    });
    expect(redisTls(o.redisUrl, { ca: o.redisCa, cert: o.redisCert, key: o.redisKey })).toEqual({
      ca: Buffer.from(PEM('CERTIFICATE')),
      cert: Buffer.from(PEM('CERTIFICATE')),
      key: Buffer.from(PEM('PRIVATE KEY')),
    });
    expect(redisTls('rediss://r:6380', {})).toEqual({});
    expect(redisTls('redis://r:6379', {})).toBeUndefined();
  });

  it('refuses TLS files with a plain redis:// URL, and unreadable files, naming the setting', () => {
    expect(() => compile({ 'redis-ca': file('ca.pem') })).toThrow('need a rediss:// URL in --redis-url (DROVER_REDIS_URL)');
    expect(() => compile({ 'redis-url': 'rediss://r:6380', 'redis-key': '/nope/key.pem' })).toThrow(
      /invalid --redis-key \(DROVER_REDIS_KEY\): cannot read the key file \/nope\/key.pem/,
    );
  });
});

describe('HTTPS API', () => {
  it('serves HTTPS with a cert and key, and asks for client certificates with a client CA', () => {
    const plain = compile({});
    expect(apiHttps({ cert: plain.apiTlsCert, key: plain.apiTlsKey })).toBeUndefined();
    const o = compile({ 'api-tls-cert': file('cert.pem'), 'api-tls-key': file('key.pem'), 'api-tls-client-ca': file('ca.pem') });
    expect(apiHttps({ cert: o.apiTlsCert, key: o.apiTlsKey, clientCa: o.apiTlsClientCa })).toMatchObject({
      requestCert: true,
      rejectUnauthorized: true,
    });
    expect(() => compile({ 'api-tls-key': file('key.pem') })).toThrow(/go together: give both to serve HTTPS/);
    expect(() => compile({ 'api-tls-client-ca': file('ca.pem') })).toThrow('--api-tls-client-ca (DROVER_API_TLS_CLIENT_CA) needs HTTPS');
  });
});

describe('secrets key setting', () => {
  it('reads the key from the env or a file, and refuses a bad one or both at once, naming the setting', () => {
    const hex = 'ab'.repeat(32);
    writeFileSync(file('key'), `${hex}\n`);
    const a = compile({}, { DROVER_SECRETS_KEY: hex }).secretsKey;
    const b = compile({ 'secrets-key-file': file('key') }).secretsKeyFile;
    expect(a?.id).toBe(b?.id);
    expect(() => compile({}, { DROVER_SECRETS_KEY: 'short' })).toThrow(
      /invalid DROVER_SECRETS_KEY \(--secrets-key\): must be a 32-byte key/,
    );
    expect(() => compile({ 'secrets-key-file': file('nope') })).toThrow(
      /invalid --secrets-key-file \(DROVER_SECRETS_KEY_FILE\): cannot read .*nope: ENOENT/,
    );
    expect(() => compile({ 'secrets-key-file': file('key') }, { DROVER_SECRETS_KEY: hex })).toThrow(/are both set: give one/);
  });
});
