// docker-compose.yml: `docker compose config` where a compose client exists; everywhere its
// shape (the services, health checks and named volumes a local cluster needs), and every
// Drover service's command run as written against this machine's PostgreSQL, Redis and NATS
// (the service addresses are the test environment's, and the API port a free one).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { api, createTestEnv, REPO_ROOT, spawnDrover, waitFor, type TestEnv } from './support/index.js';

interface Service {
  image?: string;
  user?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
}
const compose = parse(readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const services = compose.services;
const drover = Object.entries(services).filter(([, s]) => s.image === 'drover:local');
const agents = drover.filter(([, s]) => s.command?.[0] === 'agent');
const isRoot = process.getuid?.() === 0;

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(async () => env?.cleanup());

const composeClient = (() => {
  try {
    execFileSync('docker', ['compose', 'version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

it.runIf(composeClient)('passes docker compose config', () => {
  execFileSync('docker', ['compose', '-f', path.join(REPO_ROOT, 'docker-compose.yml'), 'config', '--quiet'], { stdio: 'pipe' });
});

it('has PostgreSQL, Redis, NATS with JetStream, a migration, a coordinator and two agents with different labels', () => {
  expect(Object.keys(services)).toEqual(expect.arrayContaining(['postgres', 'redis', 'nats', 'migrate', 'coordinator']));
  expect(services.nats?.command).toContain('-js');
  expect(agents).toHaveLength(2);
  const labels = agents.map(([, s]) => s.command?.[s.command.indexOf('--label') + 1]);
  expect(new Set(labels).size).toBe(2);
});

it('checks the health of every server it waits on, and keeps state in named volumes', () => {
  for (const name of ['postgres', 'redis', 'nats', 'coordinator'])
    expect(services[name]?.healthcheck?.test.length, name).toBeGreaterThan(0);
  for (const [name, s] of Object.entries(services)) {
    for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
      if (condition === 'service_healthy') expect(services[dep]?.healthcheck, `${name} waits on ${dep}`).toBeDefined();
    }
    for (const volume of s.volumes ?? []) expect(compose.volumes, `${name}: ${volume}`).toHaveProperty(volume.split(':')[0] ?? '');
  }
  // Agents hold NATS credentials and a join token only.
  for (const [name, s] of agents) expect(Object.keys(s.environment ?? {}), name).toEqual(['DROVER_NATS_URL', 'DROVER_JOIN_TOKEN']);
});

it("runs agents as root and their jobs as nobody, so jobs cannot read the agents' credentials", () => {
  for (const [name, s] of agents) {
    expect(s.user, name).toBe('root');
    expect(s.command?.join(' '), name).toContain('--run-as nobody');
    expect(s.command, name).not.toContain('--allow-same-user');
  }
});

it('runs every Drover service command as written: migrate, the coordinator and both agents', { timeout: 120_000 }, async () => {
  const command = (name: string) => services[name]?.command ?? [];
  const migrate = spawnDrover(env, command('migrate'), { name: 'migrate' });
  expect((await migrate.exited).code).toBe(0);
  // The compose file's API address (0.0.0.0:7400 in a container) becomes a free loopback port
  // here, so the test never collides with a Drover running on this machine.
  const coordinatorArgs = command('coordinator').map((a) => (a === '0.0.0.0:7400' ? '127.0.0.1:0' : a));
  expect(coordinatorArgs).not.toEqual(command('coordinator'));
  // The coordinator requires API tokens and agents that joined: the compose file gives it a
  // bootstrap admin token and a bootstrap join token (`${VAR:-default}`), and the agents the
  // same join token. Their defaults are what `docker compose up` uses when the variables are unset.
  const setting = (service: string, name: string): string => {
    const value = String(services[service]?.environment?.[name] ?? '');
    const fallback = /^\$\{[A-Z_]+:-(.+)\}$/.exec(value)?.[1];
    expect(fallback, `${service} has ${name} with a default`).toBeTruthy();
    return fallback ?? '';
  };
  const token = setting('coordinator', 'DROVER_BOOTSTRAP_TOKEN');
  const coordinator = spawnDrover(env, coordinatorArgs, {
    name: 'coordinator',
    env: { DROVER_BOOTSTRAP_TOKEN: token, DROVER_BOOTSTRAP_JOIN_TOKEN: setting('coordinator', 'DROVER_BOOTSTRAP_JOIN_TOKEN') },
  });
  const listening = await coordinator.waitForLog('api listening');
  const client = api(String(listening.url).replace(/\/$/, ''), { token });
  // The agents run as root there (to start jobs as nobody); so do the tests, normally. Where they
  // do not, an agent cannot switch users: it runs jobs as the test's user instead.
  const agentArgs = (args: string[]) =>
    isRoot ? args : args.flatMap((a, i) => (a === '--run-as' ? ['--allow-same-user'] : args[i - 1] === '--run-as' ? [] : [a]));
  for (const [name, s] of agents)
    spawnDrover(env, agentArgs(s.command ?? []), { name, env: { DROVER_JOIN_TOKEN: setting(name, 'DROVER_JOIN_TOKEN') } });
  const fleet = await waitFor(
    async () => {
      const items = (await client.get<{ items: Array<{ name: string; labels: Record<string, string> }> }>('/v1/agents')).body.items;
      return items.length === 2 ? items : undefined;
    },
    { description: 'both agents to register' },
  );
  expect(fleet.map((a) => a.labels.region).sort()).toEqual(['eu', 'us']);
  expect((await client.get('/readyz')).status).toBe(200);
});
