// The ready-queue and leader-lease contracts against real Redis, each test under its own key prefix.
import { afterAll, beforeAll } from 'vitest';
import type { Redis } from 'ioredis';
import { createTestEnv, randomId, type TestEnv } from '../../../../test/support/index.js';
import { openRedis, RedisReadyQueue } from './ready-queue.js';
import { RedisLeaderLease } from './leader-lease.js';
import { readyQueueContract } from '../../test/queue-contract.js';
import { leaderLeaseContract } from '../../test/lease-contract.js';

let env: TestEnv;
let redis: Redis;

beforeAll(async () => {
  env = await createTestEnv();
  redis = await openRedis(env.redisUrl);
});
afterAll(async () => {
  redis?.disconnect();
  await env?.cleanup();
});

// Each queue gets a prefix of its own under the environment's, all removed with the environment.
readyQueueContract('redis', async () => new RedisReadyQueue(redis, `${env.redisPrefix}${randomId()}:`));
leaderLeaseContract('redis', async () => new RedisLeaderLease(redis, `${env.redisPrefix}${randomId()}:`));
