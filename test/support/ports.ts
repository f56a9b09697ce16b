// Private servers (redis-server, nats-server, pgbouncer, proxies) listen on a port the kernel
// just handed out, so parallel test files never collide with each other or the shared servers.
import { createServer } from 'node:net';

/** A free TCP port on 127.0.0.1 (free when asked; good enough for a test server). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
}
