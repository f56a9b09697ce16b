/** The integration-test harness: isolated environments, real drover processes, HTTP helpers. */
export { createTestDatabase, ensureTemplateDatabase, templateDatabaseName, REPO_ROOT, type TestDatabase } from './database.js';
export { createTestEnv, deleteRedisKeys, deleteJetStreamStreams, randomId, type TestEnv } from './isolation.js';
export {
  spawnDrover,
  spawnInEnv,
  startCoordinator,
  bootstrapTokenOf,
  startAgent,
  makeStateDir,
  DROVER_BIN,
  FAST_LIVENESS_ARGS,
  type AgentOptions,
  type CoordinatorOptions,
  type DroverProcess,
  type ExitStatus,
  type OutputLine,
  type SpawnOptions,
  type StartedAgent,
  type StartedCoordinator,
} from './processes.js';
export { api, sleep, waitFor, type ApiClient, type ApiResponse, type RequestOptions, type WaitForOptions } from './http.js';
export {
  runHelpers,
  chunkBytes,
  processGone,
  isTerminalState,
  TERMINAL,
  type Attempt,
  type Job,
  type LogChunk,
  type Problem,
  type Run,
} from './runs.js';
export { useCluster, startCluster, type Cluster, type ClusterOptions, type RunHelpers } from './cluster.js';
export { startReceiver, type ReceivedRequest, type Receiver } from './receiver.js';
export { finishedEvent } from './events.js';
export { createJoinToken } from './tokens.js';
export { startPrivateRedis, type PrivateRedis } from './redis-server.js';
export { startTcpProxy, type TcpProxy } from './tcp-proxy.js';
export { startPrivateNats } from './private-nats.js';
export { startPgBouncer, pgbouncerInstalled, PGBOUNCER, type PrivatePgBouncer } from './pgbouncer.js';
export { startRedisSentinel, SENTINEL_MASTER_NAME, type RedisSentinelSetup } from './redis-sentinel.js';
export { startNatsCluster, type NatsCluster, type NatsNode } from './nats-cluster.js';
export { markingExecutor, overlappingExecutions, readExecutions, readMarks, type Execution } from './executions.js';
export { databaseLockout, type DatabaseLockout } from './database-lockout.js';
export { freePort } from './ports.js';
export { leaderOf } from './leader.js';
