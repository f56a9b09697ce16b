// The coordinator's settings for the secrets key and for TLS to PostgreSQL, Redis and API
// clients: part of `coordinatorSettings` (options.ts), apart because they are one concern.
import { readFileSync } from 'node:fs';
import { parse, type SettingsSpec } from '@drover/shared';
import { parseSecretsKey, type SecretsKey } from './secrets-crypto.js';
import { DATABASE_SSL_MODES, pemFile } from './tls.js';

/** The secrets key and TLS settings, in the order the configuration reference lists them. */
export const coordinatorSecuritySettings = {
  secretsKey: {
    flag: 'secrets-key',
    placeholder: 'hex key',
    env: 'DROVER_SECRETS_KEY',
    description:
      'The 32-byte key secret values are encrypted with at rest (AES-256-GCM), as 64 hex digits or base64: `openssl rand -hex 32`. Without it (or `--secrets-key-file`) secrets cannot be set. Prefer the environment variable or the file to the flag.',
    parse: (raw: string | string[]): SecretsKey => parseSecretsKey(parse.string(raw)),
  },
  secretsKeyFile: {
    flag: 'secrets-key-file',
    placeholder: 'file',
    env: 'DROVER_SECRETS_KEY_FILE',
    description: 'A file holding the secrets key (as `--secrets-key`), e.g. a systemd credential or a mounted secret.',
    parse: (raw: string | string[]): SecretsKey => {
      const file = parse.string(raw);
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        throw new Error(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      return parseSecretsKey(text);
    },
  },
  databaseSslMode: {
    flag: 'database-sslmode',
    placeholder: 'mode',
    env: 'DROVER_DATABASE_SSLMODE',
    description:
      'TLS to PostgreSQL: `disable`, `require` (encrypted, server unchecked), `verify-ca` or `verify-full` (checks the certificate, and the host name); default `verify-full` when a CA, cert or key is given, else as the URL says (`?sslmode=`).',
    parse: parse.oneOf(DATABASE_SSL_MODES),
  },
  databaseCa: {
    flag: 'database-ca',
    placeholder: 'file',
    env: 'DROVER_DATABASE_CA',
    description: "PEM file of the CA(s) that signed PostgreSQL's certificate.",
    parse: pemFile('CA bundle'),
  },
  databaseCert: {
    flag: 'database-cert',
    placeholder: 'file',
    env: 'DROVER_DATABASE_CERT',
    description: 'PEM client certificate for PostgreSQL (with `--database-key`).',
    parse: pemFile('certificate'),
  },
  databaseKey: {
    flag: 'database-key',
    placeholder: 'file',
    env: 'DROVER_DATABASE_KEY',
    description: 'PEM private key of `--database-cert`.',
    parse: pemFile('key'),
  },
  redisCa: {
    flag: 'redis-ca',
    placeholder: 'file',
    env: 'DROVER_REDIS_CA',
    description: "PEM file of the CA(s) that signed Redis's certificate; needs a `rediss://` URL.",
    parse: pemFile('CA bundle'),
  },
  redisCert: {
    flag: 'redis-cert',
    placeholder: 'file',
    env: 'DROVER_REDIS_CERT',
    description: 'PEM client certificate for Redis (with `--redis-key`).',
    parse: pemFile('certificate'),
  },
  redisKey: {
    flag: 'redis-key',
    placeholder: 'file',
    env: 'DROVER_REDIS_KEY',
    description: 'PEM private key of `--redis-cert`.',
    parse: pemFile('key'),
  },
  apiTlsCert: {
    flag: 'api-tls-cert',
    placeholder: 'file',
    env: 'DROVER_API_TLS_CERT',
    description: 'Serve the REST API over HTTPS with this PEM certificate (chain); needs `--api-tls-key`.',
    parse: pemFile('certificate'),
  },
  apiTlsKey: {
    flag: 'api-tls-key',
    placeholder: 'file',
    env: 'DROVER_API_TLS_KEY',
    description: 'PEM private key of `--api-tls-cert`.',
    parse: pemFile('key'),
  },
  apiTlsClientCa: {
    flag: 'api-tls-client-ca',
    placeholder: 'file',
    env: 'DROVER_API_TLS_CLIENT_CA',
    description: 'Require API clients to present a certificate signed by a CA in this PEM file (mutual TLS), besides their token.',
    parse: pemFile('CA bundle'),
  },
} satisfies SettingsSpec;
