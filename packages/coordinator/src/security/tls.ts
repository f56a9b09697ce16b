// TLS for the coordinator's own connections and its API: PostgreSQL (pg's `ssl`), Redis
// (ioredis's `tls`, with a `rediss://` URL) and HTTPS for the REST API. Certificate files are
// read once when the options are compiled, so a wrong path stops the process naming the setting.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';

/** A PEM file read at start-up. */
export interface PemFile {
  readonly path: string;
  readonly pem: Buffer;
}

/** Parses a setting that names a PEM file: reads it now, and checks it holds PEM. */
export function pemFile(what: 'certificate' | 'key' | 'CA bundle') {
  return (raw: string | string[]): PemFile => {
    const path = (Array.isArray(raw) ? (raw[raw.length - 1] ?? '') : raw).trim();
    if (path === '') throw new Error(`must name a ${what} file`);
    let pem: Buffer;
    try {
      pem = readFileSync(path);
    } catch (err) {
      throw new Error(`cannot read the ${what} file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (!pem.includes('-----BEGIN ')) throw new Error(`${path} is not a PEM ${what} (no "-----BEGIN" line)`);
    return { path, pem };
  };
}

export const DATABASE_SSL_MODES = ['disable', 'require', 'verify-ca', 'verify-full'] as const;
export type DatabaseSslMode = (typeof DATABASE_SSL_MODES)[number];

/** The TLS settings of the PostgreSQL connection. */
export interface DatabaseTls {
  sslMode?: DatabaseSslMode | undefined;
  ca?: PemFile | undefined;
  cert?: PemFile | undefined;
  key?: PemFile | undefined;
}

/**
 * pg's `ssl` option from the settings; undefined leaves it to the URL (`?sslmode=`). A CA, cert
 * or key without a mode means `verify-full`. Like libpq: `require` encrypts without checking
 * the server, `verify-ca` checks its certificate chain, `verify-full` also its host name.
 */
export function databaseSsl(tls: DatabaseTls): false | ConnectionOptions | undefined {
  const mode = tls.sslMode ?? (tls.ca || tls.cert || tls.key ? 'verify-full' : undefined);
  if (mode === undefined) return undefined;
  if (mode === 'disable') return false;
  const files = {
    ...(tls.ca ? { ca: tls.ca.pem } : {}),
    ...(tls.cert ? { cert: tls.cert.pem } : {}),
    ...(tls.key ? { key: tls.key.pem } : {}),
  };
  if (mode === 'require') return { ...files, rejectUnauthorized: false };
  if (mode === 'verify-ca') return { ...files, rejectUnauthorized: true, checkServerIdentity: () => undefined };
  return { ...files, rejectUnauthorized: true };
}

/** The TLS settings of the Redis connection. */
export interface RedisTls {
  ca?: PemFile | undefined;
  cert?: PemFile | undefined;
  key?: PemFile | undefined;
}

/** ioredis's `tls` option: for a `rediss://` URL, with the given CA and client certificate. */
export function redisTls(url: string, tls: RedisTls): ConnectionOptions | undefined {
  if (!url.startsWith('rediss://')) return undefined;
  return {
    ...(tls.ca ? { ca: tls.ca.pem } : {}),
    ...(tls.cert ? { cert: tls.cert.pem } : {}),
    ...(tls.key ? { key: tls.key.pem } : {}),
  };
}

/** The HTTPS settings of the API. */
export interface ApiTls {
  cert?: PemFile | undefined;
  key?: PemFile | undefined;
  clientCa?: PemFile | undefined;
}

/** fastify's `https` option, or undefined to serve plain HTTP. A client CA makes clients present a certificate it signed. */
export function apiHttps(
  tls: ApiTls,
): { cert: Buffer; key: Buffer; ca?: Buffer; requestCert?: boolean; rejectUnauthorized?: boolean } | undefined {
  if (!tls.cert || !tls.key) return undefined;
  return {
    cert: tls.cert.pem,
    key: tls.key.pem,
    ...(tls.clientCa ? { ca: tls.clientCa.pem, requestCert: true, rejectUnauthorized: true } : {}),
  };
}

/** Settings that only make sense together; returns the problem, naming the settings, or undefined. */
export function tlsSettingsProblem(options: {
  redisUrl: string;
  redisTls: RedisTls;
  apiTls: ApiTls;
  databaseTls: DatabaseTls;
}): string | undefined {
  if (Boolean(options.apiTls.cert) !== Boolean(options.apiTls.key))
    return '--api-tls-cert (DROVER_API_TLS_CERT) and --api-tls-key (DROVER_API_TLS_KEY) go together: give both to serve HTTPS';
  if (options.apiTls.clientCa && !options.apiTls.cert)
    return '--api-tls-client-ca (DROVER_API_TLS_CLIENT_CA) needs HTTPS: give --api-tls-cert and --api-tls-key too';
  if ((options.redisTls.ca || options.redisTls.cert || options.redisTls.key) && !options.redisUrl.startsWith('rediss://'))
    return '--redis-ca, --redis-cert and --redis-key (DROVER_REDIS_CA…) need a rediss:// URL in --redis-url (DROVER_REDIS_URL)';
  if (Boolean(options.redisTls.cert) !== Boolean(options.redisTls.key))
    return '--redis-cert (DROVER_REDIS_CERT) and --redis-key (DROVER_REDIS_KEY) go together';
  if (Boolean(options.databaseTls.cert) !== Boolean(options.databaseTls.key))
    return '--database-cert (DROVER_DATABASE_CERT) and --database-key (DROVER_DATABASE_KEY) go together';
  if (options.databaseTls.sslMode === 'disable' && (options.databaseTls.ca || options.databaseTls.cert))
    return '--database-sslmode (DROVER_DATABASE_SSLMODE) is disable, yet --database-ca or --database-cert is given';
  return undefined;
}
