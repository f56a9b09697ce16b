// A private PgBouncer in transaction mode in front of the machine's PostgreSQL, on a free
// loopback port: each transaction may run on any server connection, so anything that relies on
// session state (a SET, a LISTEN, a named prepared statement) shows up as a failure.
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { makeStateDir, spawnInEnv, type DroverProcess } from './processes.js';
import type { TestEnv } from './isolation.js';

export const PGBOUNCER = process.env.DROVER_TEST_PGBOUNCER ?? '/usr/sbin/pgbouncer';

/** Whether the pgbouncer binary is there (Debian package `pgbouncer`; .ci/run installs it). */
export const pgbouncerInstalled = (): boolean => existsSync(PGBOUNCER);

export interface PrivatePgBouncer {
  /** `databaseUrl` with its host and port replaced by PgBouncer's. */
  readonly url: string;
  readonly proc: DroverProcess;
}

/** Starts PgBouncer (pool_mode = transaction, 4 server connections) in front of `databaseUrl`'s server. */
export async function startPgBouncer(env: TestEnv, databaseUrl: string): Promise<PrivatePgBouncer> {
  const port = await freePort();
  const target = new URL(databaseUrl);
  // PgBouncer refuses to run as root; as root it drops to nobody, who must read the files.
  const dir = makeStateDir(env, 'pgbouncer');
  chmodSync(dir, 0o755);
  const userlist = join(dir, 'userlist.txt');
  writeFileSync(userlist, `"${decodeURIComponent(target.username) || 'postgres'}" ""\n`, { mode: 0o644 });
  const ini = join(dir, 'pgbouncer.ini');
  writeFileSync(
    ini,
    [
      '[databases]',
      `* = host=${target.hostname} port=${target.port || 5432}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${userlist}`,
      'pool_mode = transaction',
      'default_pool_size = 4',
      'max_client_conn = 200',
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  const asRoot = process.getuid?.() === 0;
  const proc = spawnInEnv(env, PGBOUNCER, [...(asRoot ? ['-u', 'nobody'] : []), ini], { name: 'pgbouncer' });
  await proc.waitForLine((l) => /process up/.test(l.text));
  const url = new URL(databaseUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return { url: url.toString(), proc };
}
