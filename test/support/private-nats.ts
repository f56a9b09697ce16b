// A nats-server of the test's own on a free port, so a test can stop, restart or cut off the
// bus without disturbing the machine's shared server (or other test files).
import { spawnInEnv, type DroverProcess } from './processes.js';
import type { TestEnv } from './isolation.js';

const NATS_SERVER = process.env.DROVER_TEST_NATS_SERVER ?? '/usr/sbin/nats-server';

/** Starts nats-server on 127.0.0.1:`port` and waits until it is ready (stopped with the env). */
export async function startPrivateNats(env: TestEnv, port: number): Promise<DroverProcess> {
  const proc = spawnInEnv(env, NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port)], { name: 'nats-server' });
  await proc.waitForLine((l) => /Server is ready/.test(l.text));
  return proc;
}
