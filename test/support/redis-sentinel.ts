// A private Redis master, one replica and three Sentinels on free loopback ports, for tests that
// fail the master over (by killing it, or gracefully). `redis-server --sentinel` is the Sentinel
// of Debian's redis-server package (the redis-sentinel package only adds a service for it).
// Nothing is persisted.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './ports.js';
import { makeStateDir, spawnInEnv, type DroverProcess } from './processes.js';
import type { TestEnv } from './isolation.js';

const REDIS_SERVER = process.env.DROVER_TEST_REDIS_SERVER ?? 'redis-server';
export const SENTINEL_MASTER_NAME = 'mymaster';

export interface RedisSentinelSetup {
  /** The Sentinels, `host:port,…`, as `--redis-sentinels` takes them. */
  readonly sentinels: string;
  /** The port of the master the Sentinels report now. */
  masterPort(): Promise<number>;
  /** SIGKILLs the redis-server listening on `port`. */
  kill(port: number): Promise<void>;
  /** `SENTINEL FAILOVER`: a graceful switch, the replica promoted and the master made its replica. */
  failover(): Promise<void>;
  /** `ROLE` of the redis-server on `port`: `master` or `slave`. */
  role(port: number): Promise<string>;
}

async function ask<T>(port: number, ...args: string[]): Promise<T> {
  const c = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await c.connect();
    return (await c.call(args[0] ?? 'PING', ...args.slice(1))) as T;
  } finally {
    c.disconnect();
  }
}

/** Starts the master, the replica and the Sentinels, and waits until the Sentinels know them all. */
export async function startRedisSentinel(env: TestEnv): Promise<RedisSentinelSetup> {
  const master = await freePort();
  const replica = await freePort();
  const servers = new Map<number, DroverProcess>();
  const common = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  for (const [port, extra] of [
    [master, []],
    [replica, ['--replicaof', '127.0.0.1', String(master)]],
  ] as const) {
    // A replica keeps the master's snapshot in its directory: a temporary one, not the repository.
    const dir = makeStateDir(env, `redis-${port}`);
    const proc = spawnInEnv(env, REDIS_SERVER, ['--port', String(port), '--dir', dir, ...common, ...extra], { name: `redis-${port}` });
    await proc.waitForLine((l) => /Ready to accept connections/.test(l.text));
    servers.set(port, proc);
  }
  const sentinelPorts = [await freePort(), await freePort(), await freePort()];
  for (const port of sentinelPorts) {
    // Sentinel rewrites its configuration file, so each gets one of its own.
    const conf = join(makeStateDir(env, `sentinel-${port}`), 'sentinel.conf');
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `sentinel monitor ${SENTINEL_MASTER_NAME} 127.0.0.1 ${master} 2`,
        `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} 1000`,
        `sentinel failover-timeout ${SENTINEL_MASTER_NAME} 5000`,
        `sentinel parallel-syncs ${SENTINEL_MASTER_NAME} 1`,
        '',
      ].join('\n'),
    );
    const proc = spawnInEnv(env, REDIS_SERVER, [conf, '--sentinel'], { name: `sentinel-${port}` });
    await proc.waitForLine((l) => /Sentinel ID is/.test(l.text));
  }
  // A failover needs a replica the Sentinels know and a quorum of Sentinels that know each other.
  const deadline = Date.now() + 20_000;
  for (const port of sentinelPorts) {
    for (;;) {
      const replicas = await ask<unknown[]>(port, 'SENTINEL', 'REPLICAS', SENTINEL_MASTER_NAME);
      const peers = await ask<unknown[]>(port, 'SENTINEL', 'SENTINELS', SENTINEL_MASTER_NAME);
      if (replicas.length >= 1 && peers.length >= 2) break;
      if (Date.now() > deadline) throw new Error(`sentinel ${port} knows ${replicas.length} replicas and ${peers.length} peers after 20 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    sentinels: sentinelPorts.map((p) => `127.0.0.1:${p}`).join(','),
    async masterPort() {
      const [, port] = await ask<[string, string]>(sentinelPorts[0] ?? 0, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_MASTER_NAME);
      return Number(port);
    },
    async kill(port) {
      await servers.get(port)?.kill();
      servers.delete(port);
    },
    async failover() {
      await ask(sentinelPorts[0] ?? 0, 'SENTINEL', 'FAILOVER', SENTINEL_MASTER_NAME);
    },
    async role(port) {
      const [role] = await ask<[string]>(port, 'ROLE');
      return role;
    },
  };
}
