// One fixture for what most integration test files start: an isolated environment (its own
// database, Redis key prefix and NATS subject prefix), one or more coordinators, and agents with
// the labels and options the test needs, torn down after the file. A file states its cluster
// once, at the top, and its tests read `cluster.client`, `cluster.agents` and the run helpers.
import { afterAll, beforeAll } from 'vitest';
import { api, type ApiClient } from './http.js';
import { createTestEnv, type TestEnv } from './isolation.js';
import {
  startAgent,
  startCoordinator,
  type AgentOptions,
  type CoordinatorOptions,
  type StartedAgent,
  type StartedCoordinator,
} from './processes.js';
import { lazyClient, runHelpers } from './runs.js';

export interface ClusterOptions {
  /** How many coordinators to start (default 1); they share the env's database, prefix and token. */
  coordinators?: number;
  /** Extra `drover coordinator` flags for every coordinator. */
  coordinatorArgs?: readonly string[];
  /** Options for every coordinator (e.g. `auth: true`, `env`). */
  coordinator?: CoordinatorOptions;
  /** The agents to start together, one entry each (`{}` for an agent with the defaults), after the coordinators. */
  agents?: readonly AgentOptions[];
}

export type RunHelpers = ReturnType<typeof runHelpers>;

export interface Cluster extends RunHelpers {
  readonly env: TestEnv;
  /** The first coordinator. */
  readonly coordinator: StartedCoordinator;
  readonly coordinators: readonly StartedCoordinator[];
  /** An API client of the first coordinator (with the bootstrap token under `auth: true`). */
  readonly client: ApiClient;
  /** The agents of `options.agents`, in order, then any started with `startAgent`. */
  readonly agents: readonly StartedAgent[];
  /** Starts one more agent in the env (stopped at teardown with the others). */
  startAgent(options?: AgentOptions): Promise<StartedAgent>;
  /** Kills every process and removes the env's database, keys and streams. Safe to call twice. */
  cleanup(): Promise<void>;
}

/** Starts a cluster now; the caller cleans it up (`cluster.cleanup()`). */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const env = await createTestEnv();
  try {
    const coordinators: StartedCoordinator[] = [];
    for (let i = 0; i < (options.coordinators ?? 1); i++) {
      coordinators.push(await startCoordinator(env, options.coordinatorArgs ?? [], options.coordinator ?? {}));
    }
    const first = coordinators[0];
    if (!first) throw new Error('useCluster: a cluster needs at least one coordinator');
    const agents: StartedAgent[] = await Promise.all((options.agents ?? []).map((agent) => startAgent(env, agent)));
    const client = api(first.url, first.token ? { token: first.token } : {});
    return {
      ...runHelpers(client),
      env,
      coordinator: first,
      coordinators,
      client,
      agents,
      async startAgent(agentOptions = {}) {
        const agent = await startAgent(env, agentOptions);
        agents.push(agent);
        return agent;
      },
      cleanup: () => env.cleanup(),
    };
  } catch (err) {
    await env.cleanup().catch(() => undefined);
    throw err;
  }
}

/**
 * The cluster of this test file: started in beforeAll, torn down in afterAll. Its client and run
 * helpers may be taken at once (`const { createJob, trigger } = useCluster(...)`) and called in
 * hooks and tests; its env, coordinators and agents are there once beforeAll has run.
 */
export function useCluster(options: ClusterOptions = {}): Cluster {
  let started: Cluster | undefined;
  beforeAll(async () => {
    started = await startCluster(options);
  });
  afterAll(async () => started?.cleanup());
  const current = (): Cluster => {
    if (!started) throw new Error('useCluster: the cluster is read before it started (read it in a hook or a test)');
    return started;
  };
  const client = lazyClient(() => current().client);
  return {
    ...runHelpers(client),
    client,
    get env() {
      return current().env;
    },
    get coordinator() {
      return current().coordinator;
    },
    get coordinators() {
      return current().coordinators;
    },
    get agents() {
      return current().agents;
    },
    startAgent: (agentOptions) => current().startAgent(agentOptions),
    cleanup: async () => started?.cleanup(),
  };
}
