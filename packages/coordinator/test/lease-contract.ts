// The contract every leader-lease backend keeps, as one test suite run against each (Redis in
// redis-queue.int.test.ts, memory in memory-queue.test.ts): one holder at a time, a new epoch
// for each new holder, release, expiry.
import { describe, expect, it } from 'vitest';
import type { LeaderLease } from '../src/queue/leader-lease.js';

/** A fresh lease nobody holds, per call; the suite never shares one between tests. */
export type MakeLease = () => Promise<LeaderLease>;

export function leaderLeaseContract(backend: string, make: MakeLease): void {
  describe(`leader lease contract: ${backend}`, () => {
    it('gives the lease to one node at a time, with a new epoch for each new holder', async () => {
      const lease = await make();
      const first = await lease.acquire('node-a', 10_000);
      expect(first).toBeGreaterThan(0);
      expect(await lease.acquire('node-b', 10_000)).toBe(0);
      expect(await lease.acquire('node-a', 10_000)).toBe(first);
      await lease.release('node-b'); // not the holder: nothing happens
      expect(await lease.acquire('node-b', 10_000)).toBe(0);
      await lease.release('node-a');
      const second = await lease.acquire('node-b', 10_000);
      expect(second).toBeGreaterThan(first);
    });

    it('lets another node take a lease that expired', async () => {
      const lease = await make();
      const first = await lease.acquire('node-a', 30);
      await new Promise((r) => setTimeout(r, 80));
      const second = await lease.acquire('node-b', 10_000);
      expect(second).toBeGreaterThan(first);
    });
  });
}
