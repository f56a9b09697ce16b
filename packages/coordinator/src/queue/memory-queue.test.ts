import { MemoryReadyQueue } from './memory-queue.js';
import { readyQueueContract } from './queue-contract.js';

readyQueueContract('memory', async () => new MemoryReadyQueue());
