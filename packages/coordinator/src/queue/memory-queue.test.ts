import { MemoryReadyQueue } from './memory-queue.js';
import { MemoryLeaderLease } from './leader-lease.js';
import { readyQueueContract } from '../../test/queue-contract.js';
import { leaderLeaseContract } from '../../test/lease-contract.js';

readyQueueContract('memory', async () => new MemoryReadyQueue());
leaderLeaseContract('memory', async () => new MemoryLeaderLease());
