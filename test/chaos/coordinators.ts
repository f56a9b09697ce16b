// More coordinators on a chaos cluster, for the scenarios about leadership and schedules: each
// on the cluster's private NATS and Redis, killed, frozen or stopped by the scenario. And the
// end of such a scenario, judged from the database rather than through one coordinator's API
// (the cluster's first coordinator may be the one that was killed).
import pg from 'pg';
import { startCoordinator, waitFor, type CoordinatorOptions, type StartedCoordinator } from '../support/index.js';
import type { ChaosCluster } from './cluster.js';
import { checkHistory, type Expectations, type Verdict } from './history.js';
import type { MarkedExecution } from './marks.js';
import { readHistory } from './read-history.js';

/** A client of the cluster's database, closed with the cluster. */
export async function openDatabase(cluster: ChaosCluster): Promise<pg.Client> {
  const db = new pg.Client({ connectionString: cluster.env.databaseUrl });
  await db.connect();
  cluster.env.onCleanup(() => db.end());
  return db;
}

/** Starts a coordinator named `nodeId` on the cluster's servers (`env` e.g. for libfaketime). */
export function startClusterCoordinator(
  cluster: ChaosCluster,
  nodeId: string,
  extraArgs: readonly string[] = [],
  options: CoordinatorOptions = {},
): Promise<StartedCoordinator> {
  return startCoordinator(
    cluster.env,
    ['--nats', cluster.natsUrl, '--redis-url', cluster.redis.url, '--node-id', nodeId, ...extraArgs],
    options,
  );
}

/**
 * Waits until every run of `jobIds` is terminal, then reads and judges the history; `expected`
 * as for checkHistory (maxAttempts defaults to the cluster's).
 */
export async function settleAndCheck(
  cluster: ChaosCluster,
  marks: string,
  jobIds: readonly string[],
  expected: Partial<Expectations>,
  timeoutMs = 90_000,
): Promise<{ verdict: Verdict; executions: MarkedExecution[] }> {
  const judge = async () => {
    const history = await readHistory(cluster.env.databaseUrl, marks, jobIds);
    const verdict = checkHistory(history, { triggered: [], maxAttempts: cluster.maxAttempts, ...expected });
    return { verdict, executions: history.executions };
  };
  await waitFor(async () => ((await judge()).verdict.figures.unfinished === 0 ? true : undefined), {
    timeoutMs,
    intervalMs: 500,
    description: 'every run to end',
  });
  return judge();
}
