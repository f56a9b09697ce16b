// A private 3-node NATS cluster on free loopback ports, for tests that kill the node a process
// is connected to. Each node has a monitoring port, so a test can ask which node holds a client.
import { freePort } from './ports.js';
import { spawnInEnv, type DroverProcess } from './processes.js';
import type { TestEnv } from './isolation.js';

const NATS_SERVER = process.env.DROVER_TEST_NATS_SERVER ?? '/usr/sbin/nats-server';

export interface NatsNode {
  readonly name: string;
  readonly url: string;
  readonly monitorPort: number;
  /** Whether the process is running (false after kill). */
  readonly up: boolean;
  /** SIGKILL. */
  kill(): Promise<void>;
}

export interface NatsCluster {
  readonly nodes: readonly NatsNode[];
  /** Every node's client URL, comma-separated, as `--nats` takes them. */
  readonly urls: string;
  /** The running node holding a client subscribed to a subject containing `fragment`. */
  nodeOf(fragment: string): Promise<NatsNode | undefined>;
}

interface Connz {
  connections?: Array<{ subscriptions_list?: string[] }>;
}

/** Starts `size` nats-server nodes routed to each other and waits until each sees every route. */
export async function startNatsCluster(env: TestEnv, size = 3): Promise<NatsCluster> {
  const ports = await Promise.all(
    Array.from({ length: size }, async () => ({ client: await freePort(), route: await freePort(), monitor: await freePort() })),
  );
  const routes = ports.map((p) => `nats://127.0.0.1:${p.route}`).join(',');
  const nodes = ports.map((p, i) => {
    const name = `nats-${i + 1}`;
    const args = ['-a', '127.0.0.1', '-p', String(p.client), '-m', String(p.monitor), '-n', name];
    args.push('--cluster_name', 'drover', '--cluster', `nats://127.0.0.1:${p.route}`, '--routes', routes);
    // Without advertising, clients know only the URLs they were given (as behind NAT or a load
    // balancer): a process then survives a node's loss only through its own list of URLs.
    args.push('--no_advertise');
    const proc: DroverProcess = spawnInEnv(env, NATS_SERVER, args, { name });
    let up = true;
    const node: NatsNode = {
      name,
      url: `nats://127.0.0.1:${p.client}`,
      monitorPort: p.monitor,
      get up() {
        return up;
      },
      async kill() {
        up = false;
        await proc.kill();
      },
    };
    return { node, proc };
  });
  await Promise.all(nodes.map(({ proc }) => proc.waitForLine((l) => /Server is ready/.test(l.text))));
  // Routes form after "ready": wait until every node counts the others, or a client that moves
  // at once could land on a node not yet routed to the rest.
  const deadline = Date.now() + 15_000;
  for (const { node } of nodes) {
    for (;;) {
      const routez = (await (await fetch(`http://127.0.0.1:${node.monitorPort}/routez`)).json()) as { num_routes: number };
      if (routez.num_routes >= size - 1) break;
      if (Date.now() > deadline) throw new Error(`${node.name} has ${routez.num_routes} routes of ${size - 1} after 15 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    nodes: nodes.map((n) => n.node),
    urls: nodes.map((n) => n.node.url).join(','),
    async nodeOf(fragment) {
      for (const { node } of nodes) {
        if (!node.up) continue;
        const connz = (await (await fetch(`http://127.0.0.1:${node.monitorPort}/connz?subs=1`)).json()) as Connz;
        if ((connz.connections ?? []).some((c) => (c.subscriptions_list ?? []).some((s) => s.includes(fragment)))) return node;
      }
      return undefined;
    },
  };
}
