// One place that decides how Drover processes talk: Moleculer over NATS, JSON-serialised,
// with the cluster name as Moleculer's namespace, the NATS subject prefix (so clusters and tests can share
// one NATS server without hearing each other).
import { readFileSync } from 'node:fs';
import { ServiceBroker, type BrokerOptions } from 'moleculer';
import { credsAuthenticator, nkeyAuthenticator } from 'nats';
import { DroverError } from './errors.js';
import { parse, type Setting } from './options.js';

/** How a process authenticates to NATS and secures the connection (see docs/security.md, "Securing the bus"). */
export interface NatsSecurity {
  user?: string | undefined;
  password?: string | undefined;
  token?: string | undefined;
  /** A file holding an nkey seed (`SU…`). */
  nkeySeedFile?: string | undefined;
  /** A `.creds` file (a user JWT and its nkey seed, from `nsc`). */
  credsFile?: string | undefined;
  /** CA bundle the server's certificate must chain to; setting any TLS file turns TLS on. */
  tlsCa?: string | undefined;
  /** Client certificate and key, for servers that verify clients (`verify: true`). */
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
}

const file = (raw: string | string[]) => {
  const v = parse.string(raw).trim();
  if (v === '') throw new Error('must name a file');
  return v;
};

/** The NATS credential and TLS settings, shared by the coordinator and the agent. */
export const natsSecuritySettings = {
  natsUser: {
    flag: 'nats-user',
    placeholder: 'user',
    env: 'DROVER_NATS_USER',
    description: 'NATS user name (with `--nats-password`); a user in the URL works too.',
    parse: parse.string,
  } satisfies Setting<string | undefined>,
  natsPassword: {
    flag: 'nats-password',
    placeholder: 'password',
    env: 'DROVER_NATS_PASSWORD',
    description: 'NATS password for `--nats-user` (prefer the environment variable: process lists show flags).',
    parse: parse.string,
  } satisfies Setting<string | undefined>,
  natsToken: {
    flag: 'nats-token',
    placeholder: 'token',
    env: 'DROVER_NATS_TOKEN',
    description: 'NATS authentication token (servers configured with `authorization { token }`).',
    parse: parse.string,
  } satisfies Setting<string | undefined>,
  natsNkeySeed: {
    flag: 'nats-nkey-seed',
    placeholder: 'file',
    env: 'DROVER_NATS_NKEY_SEED',
    description: "File holding this process's NATS nkey seed (`SU…`), for servers that list users by nkey.",
    parse: file,
  } satisfies Setting<string | undefined>,
  natsCreds: {
    flag: 'nats-creds',
    placeholder: 'file',
    env: 'DROVER_NATS_CREDS',
    description: 'NATS `.creds` file (user JWT and seed, from `nsc`), for servers run in operator mode.',
    parse: file,
  } satisfies Setting<string | undefined>,
  natsTlsCa: {
    flag: 'nats-tls-ca',
    placeholder: 'file',
    env: 'DROVER_NATS_TLS_CA',
    description: "CA certificate (PEM) the NATS server's certificate must chain to; any `--nats-tls-*` turns TLS on.",
    parse: file,
  } satisfies Setting<string | undefined>,
  natsTlsCert: {
    flag: 'nats-tls-cert',
    placeholder: 'file',
    env: 'DROVER_NATS_TLS_CERT',
    description: 'Client certificate (PEM) for NATS servers that verify clients.',
    parse: file,
  } satisfies Setting<string | undefined>,
  natsTlsKey: {
    flag: 'nats-tls-key',
    placeholder: 'file',
    env: 'DROVER_NATS_TLS_KEY',
    description: 'Private key (PEM) of `--nats-tls-cert`.',
    parse: file,
  } satisfies Setting<string | undefined>,
};

/** Picks the NATS security settings out of a process's compiled options. */
export function natsSecurityFrom(options: {
  natsUser?: string | undefined;
  natsPassword?: string | undefined;
  natsToken?: string | undefined;
  natsNkeySeed?: string | undefined;
  natsCreds?: string | undefined;
  natsTlsCa?: string | undefined;
  natsTlsCert?: string | undefined;
  natsTlsKey?: string | undefined;
}): NatsSecurity {
  return {
    user: options.natsUser,
    password: options.natsPassword,
    token: options.natsToken,
    nkeySeedFile: options.natsNkeySeed,
    credsFile: options.natsCreds,
    tlsCa: options.natsTlsCa,
    tlsCert: options.natsTlsCert,
    tlsKey: options.natsTlsKey,
  };
}

function readSecret(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (err) {
    throw new DroverError('NATS_CREDENTIALS', `cannot read the NATS ${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** The options of nats.js's `connect` for these settings (the transporter passes them through). */
export function natsConnectOptions(url: string, sec: NatsSecurity = {}): Record<string, unknown> {
  // `servers`, not `url`: given a url, Moleculer's transporter overwrites user and pass with the
  // URL's (undefined when it has none). A user and password in the URL still work.
  const urls = url.split(',').map((u) => new URL(u.trim()));
  const out: Record<string, unknown> = { servers: urls.map((u) => u.host), maxReconnectAttempts: -1, reconnectTimeWait: 500 };
  const inUrl = urls.find((u) => u.username !== '');
  const user = sec.user ?? (inUrl ? decodeURIComponent(inUrl.username) : undefined);
  const pass = sec.password ?? (inUrl?.password ? decodeURIComponent(inUrl.password) : undefined);
  if (user !== undefined) out.user = user;
  if (pass !== undefined) out.pass = pass;
  if (sec.token !== undefined) out.token = sec.token;
  if (sec.credsFile) out.authenticator = credsAuthenticator(readSecret(sec.credsFile, 'creds file'));
  else if (sec.nkeySeedFile) {
    const seed = new TextDecoder().decode(readSecret(sec.nkeySeedFile, 'nkey seed file')).trim();
    out.authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
  }
  if ((sec.tlsCert === undefined) !== (sec.tlsKey === undefined))
    throw new DroverError('NATS_TLS', 'a NATS client certificate needs its key: set both --nats-tls-cert and --nats-tls-key');
  // Moleculer keeps only host:port of the URL, so `tls://` has to turn TLS on here.
  if (sec.tlsCa || sec.tlsCert || url.startsWith('tls://')) {
    const tls: Record<string, string> = {};
    if (sec.tlsCa) tls.caFile = sec.tlsCa;
    if (sec.tlsCert) tls.certFile = sec.tlsCert;
    if (sec.tlsKey) tls.keyFile = sec.tlsKey;
    out.tls = tls;
  }
  return out;
}

/** How a process joins the message bus. */
export interface BusOptions {
  /** `nats://host:4222`, or `memory` for Moleculer's in-process transporter (dev mode, tests). */
  natsUrl: string;
  /** The cluster name (`--cluster`): isolates clusters on one NATS server as the subject prefix `MOL-<cluster>.`. */
  cluster: string;
  nodeId: string;
  /** Log Moleculer's own messages at this level (default: warnings and errors only). */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** How long a request may wait for its answer. */
  requestTimeoutMs?: number;
  /** NATS credentials and TLS. */
  security?: NatsSecurity;
}

/** Creates (but does not start) a Moleculer broker wired as Drover expects. */
export function createBroker(opts: BusOptions, extra: Partial<BrokerOptions> = {}): ServiceBroker {
  const transporter = opts.natsUrl === 'memory' ? 'Fake' : { type: 'NATS', options: natsConnectOptions(opts.natsUrl, opts.security) };
  return new ServiceBroker({
    namespace: opts.cluster,
    nodeID: opts.nodeId,
    transporter: transporter as BrokerOptions['transporter'],
    serializer: 'JSON',
    logger: { type: 'Console', options: { formatter: 'short', colors: false } },
    logLevel: opts.logLevel ?? 'warn',
    requestTimeout: opts.requestTimeoutMs ?? 10_000,
    // Our messages are plain data built for the call; cloning them would only cost time.
    contextParamsCloning: false,
    heartbeatInterval: 5,
    heartbeatTimeout: 15,
    skipProcessEventRegistration: true,
    ...extra,
  });
}
