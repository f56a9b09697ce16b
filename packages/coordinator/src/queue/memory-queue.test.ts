import { MemoryReadyQueue } from './memory-queue.js';
import { readyQueueContract } from '../../test/queue-contract.js';

readyQueueContract('memory', async () => new MemoryReadyQueue());
