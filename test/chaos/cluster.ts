// The cluster a chaos scenario breaks: one coordinator and a few agents as real processes, on a
// private nats-server and a private redis-server the scenario may stop, flush or restart, and
// the test's own database, which it may lock out. Each agent reaches the bus through a TCP proxy
// of its own, so one agent can be partitioned while the rest keep talking. Nothing shared is
// ever broken: the shared PostgreSQL server only loses connections to this test's database.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  api,
  createTestEnv,
  databaseLockout,
  freePort,
  startAgent,
  startCoordinator,
  startPrivateNats,
  startPrivateRedis,
  startTcpProxy,
  waitFor,
  type ApiClient,
  type DatabaseLockout,
  type DroverProcess,
  type PrivateRedis,
  type StartedAgent,
  type StartedCoordinator,
  type TcpProxy,
  type TestEnv,
} from '../support/index.js';
import { chaosExecutor, readMarkedExecutions } from './marks.js';

export interface ChaosAgent extends StartedAgent {
  readonly name: string;
  /** Its way to the bus: cut() partitions this agent alone. */
  readonly proxy: TcpProxy;
}

export interface ChaosJobOptions {
  /** The marks file its executions append to (see marksFile). */
  marks: string;
  /** How long each execution sleeps (default 3 s). */
  seconds?: number;
  /** retry.maxAttempts (default 3): what the checker allows per run. */
  maxAttempts?: number;
  /** Anything else of the definition (schedule, disconnect…). */
  extra?: Record<string, unknown>;
}

export interface ChaosCluster {
  readonly env: TestEnv;
  readonly client: ApiClient;
  readonly coordinator: StartedCoordinator;
  readonly agents: ChaosAgent[];
  readonly redis: PrivateRedis;
  readonly lockout: DatabaseLockout;
  readonly natsUrl: string;
  /** A fresh marks file (in a temp dir removed at close) for one scenario's jobs. */
  marksFile(name: string): string;
  /** retry.maxAttempts of each job created with createJob, for the checker. */
  readonly maxAttempts: Record<string, number>;
  /** Kills the nats-server (SIGKILL). */
  stopNats(): Promise<void>;
  /** Starts it again on the same port. */
  startNats(): Promise<void>;
  /** Creates a job whose executions mark the marks file; resolves with its id. */
  createJob(name: string, options: ChaosJobOptions): Promise<string>;
  /** Resolves once every run is terminal (the API's view) and every execution marked in `marks` ended. */
  settle(marks: string, timeoutMs?: number): Promise<void>;
  /** Stops everything; call it in afterAll. */
  close(): Promise<void>;
}

export interface ChaosClusterOptions {
  agents?: number;
  slots?: number;
  coordinatorArgs?: readonly string[];
  /** Extra environment of the coordinator (e.g. libfaketime's). */
  coordinatorEnv?: Record<string, string>;
}

/** Starts the cluster: private NATS and Redis, a coordinator, `agents` agents (default 2, 4 slots each). */
export async function startChaosCluster(options: ChaosClusterOptions = {}): Promise<ChaosCluster> {
  const env = await createTestEnv();
  const dir = mkdtempSync(join(tmpdir(), 'drover-chaos-'));
  env.onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const natsPort = await freePort();
  const natsUrl = `nats://127.0.0.1:${natsPort}`;
  let nats: DroverProcess | undefined = await startPrivateNats(env, natsPort);
  const redis = await startPrivateRedis(env);
  const lockout = await databaseLockout(env.databaseUrl);
  env.onCleanup(() => lockout.close());
  // Two scenarios start their clusters side by side on 2 cores: give the processes time to start.
  const coordinator = await startCoordinator(env, ['--nats', natsUrl, '--redis-url', redis.url, ...(options.coordinatorArgs ?? [])], {
    listeningWithinMs: 90_000,
    ...(options.coordinatorEnv ? { env: options.coordinatorEnv } : {}),
  });
  const client = api(coordinator.url);
  const agents = await Promise.all(
    Array.from({ length: options.agents ?? 2 }, async (_, i) => {
      const name = `agent-${i + 1}`;
      const proxy = await startTcpProxy({ host: '127.0.0.1', port: natsPort });
      env.onCleanup(() => proxy.close());
      const agent = await startAgent(env, {
        name,
        slots: options.slots ?? 4,
        labels: { pool: 'chaos' },
        extraArgs: ['--nats', `nats://127.0.0.1:${proxy.port}`],
        registeredWithinMs: 90_000,
      });
      return { ...agent, name, proxy };
    }),
  );
  const maxAttempts: Record<string, number> = {};

  return {
    env,
    client,
    coordinator,
    agents,
    redis,
    lockout,
    natsUrl,
    maxAttempts,
    marksFile: (name) => join(dir, `${name.replace(/[^a-z0-9-]+/gi, '-')}.marks`),
    async stopNats() {
      await nats?.kill();
      nats = undefined;
    },
    async startNats() {
      nats = await startPrivateNats(env, natsPort);
    },
    async createJob(name, jobOptions) {
      const attempts = jobOptions.maxAttempts ?? 3;
      const res = await client.post<{ id: string }>('/v1/jobs', {
        name,
        executor: chaosExecutor(jobOptions.marks, jobOptions.seconds ?? 3),
        killGracePeriod: '1s',
        retry: { maxAttempts: attempts, initialDelay: '1s' },
        constraints: [{ attribute: 'label.pool', operator: '=', value: 'chaos' }],
        ...jobOptions.extra,
      });
      if (res.status !== 201) throw new Error(`creating job ${name}: ${res.status} ${JSON.stringify(res.body)}`);
      maxAttempts[res.body.id] = attempts;
      return res.body.id;
    },
    async settle(marks, timeoutMs = 180_000) {
      await waitFor(
        async () => {
          const res = await client.get<{ total: number }>('/v1/runs?status=pending,queued,offered,running,retrying&limit=1');
          return res.status === 200 && res.body.total === 0 ? true : undefined;
        },
        { timeoutMs, intervalMs: 500, description: 'every run to be terminal' },
      );
      // An execution's end is marked by its own shell, a moment after its agent reported it (or
      // never, when it was killed outright): the checker judges overlaps with what is there.
      await waitFor(async () => (readMarkedExecutions(marks).every((e) => e.endMs !== undefined) ? true : undefined), {
        timeoutMs: 30_000,
        intervalMs: 500,
      }).catch(() => undefined);
    },
    close: () => env.cleanup(),
  };
}
