/**
 * A real `nats-server` started by a test with TLS, one user for coordinators and one user per
 * agent whose permissions allow only the Moleculer subjects that agent needs (the
 * docs/security.md, "Securing the bus", documents), on a free port; stopped at env cleanup.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestEnv } from './isolation.js';
import { freePort } from './ports.js';

export const NATS_SERVER_BIN = process.env.DROVER_TEST_NATS_SERVER ?? '/usr/sbin/nats-server';

export interface SecureNats {
  /** `tls://127.0.0.1:<port>` */
  readonly url: string;
  /** The CA that signed the server's certificate: what clients pass as `--nats-tls-ca`. */
  readonly caFile: string;
  /** The configuration file the server runs with (for the reader of a failed test). */
  readonly configFile: string;
  readonly dir: string;
}

export interface NatsUser {
  user: string;
  password: string;
}

/** A throwaway CA and a server certificate for 127.0.0.1, made with openssl. */
function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run('req', '-x509', ...ec, '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=drover-test-ca');
  run('req', ...ec, '-keyout', 'server-key.pem', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca-key.pem',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '1',
    '-extfile',
    'san.ext',
  );
  return { ca: join(dir, 'ca.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server-key.pem') };
}

/**
 * The permissions of an agent's NATS user: it talks only to the coordinators (named by their
 * node ids) and hears only its own node's subjects and the cluster's broadcasts. Nothing
 * outside `MOL-<namespace>.` — no JetStream API, no system account, no other cluster.
 */
export function agentPermissions(namespace: string, agentNodeId: string, coordinatorNodeIds: readonly string[]) {
  const p = `MOL-${namespace}`;
  const toCoordinators = coordinatorNodeIds.flatMap((c) =>
    ['REQ', 'RES', 'EVENT', 'DISCOVER', 'INFO', 'PING', 'PONG'].map((k) => `${p}.${k}.${c}`),
  );
  return {
    publish: [...toCoordinators, `${p}.DISCOVER`, `${p}.INFO`, `${p}.HEARTBEAT`, `${p}.DISCONNECT`, `${p}.PING`],
    subscribe: [
      ...['REQ', 'RES', 'EVENT', 'DISCOVER', 'INFO', 'PING', 'PONG'].map((k) => `${p}.${k}.${agentNodeId}`),
      `${p}.DISCOVER`,
      `${p}.INFO`,
      `${p}.HEARTBEAT`,
      `${p}.DISCONNECT`,
      `${p}.PING`,
    ],
  };
}

/** The server configuration: TLS, a coordinator user with the whole cluster's subjects, one user per agent. */
export function secureNatsConfig(opts: {
  port: number;
  tls: { cert: string; key: string };
  namespace: string;
  coordinator: NatsUser;
  coordinatorNodeIds: readonly string[];
  agents: ReadonlyArray<NatsUser & { nodeId: string }>;
}): string {
  const q = JSON.stringify;
  const list = (xs: readonly string[]) => `[${xs.map((x) => q(x)).join(', ')}]`;
  const p = `MOL-${opts.namespace}`;
  const users = [
    `    { user: ${q(opts.coordinator.user)}, password: ${q(opts.coordinator.password)}, permissions: { publish: ${list([`${p}.>`])}, subscribe: ${list([`${p}.>`])} } }`,
    ...opts.agents.map((a) => {
      const perms = agentPermissions(opts.namespace, a.nodeId, opts.coordinatorNodeIds);
      return `    { user: ${q(a.user)}, password: ${q(a.password)}, permissions: { publish: ${list(perms.publish)}, subscribe: ${list(perms.subscribe)} } }`;
    }),
  ];
  return [
    `listen: "127.0.0.1:${opts.port}"`,
    `tls { cert_file: ${q(opts.tls.cert)}, key_file: ${q(opts.tls.key)}, timeout: 5 }`,
    'authorization {',
    '  users = [',
    users.join('\n'),
    '  ]',
    '}',
    '',
  ].join('\n');
}

/** Starts nats-server with TLS and these users on a free port; it is stopped at env cleanup. */
export async function startSecureNats(
  env: TestEnv,
  opts: { coordinator: NatsUser; coordinatorNodeIds: readonly string[]; agents: ReadonlyArray<NatsUser & { nodeId: string }> },
): Promise<SecureNats> {
  const dir = mkdtempSync(join(tmpdir(), 'drover-nats-tls-'));
  env.onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const tls = makeCertificates(dir);
  const port = await freePort();
  const configFile = join(dir, 'nats.conf');
  writeFileSync(configFile, secureNatsConfig({ port, tls, namespace: env.namespace, ...opts }));
  const child = spawn(NATS_SERVER_BIN, ['-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  env.onCleanup(async () => {
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    child.kill('SIGKILL');
  });
  // Ready when it says so.
  const deadline = Date.now() + 10_000;
  while (!/Server is ready/.test(output)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`nats-server did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `tls://127.0.0.1:${port}`, caFile: tls.ca, configFile, dir };
}
