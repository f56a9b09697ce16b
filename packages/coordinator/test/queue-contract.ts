// The contract every ready-queue backend keeps, as one test suite run against each (Redis in
// redis-queue.int.test.ts, memory in memory-queue.test.ts): order, idempotent enqueue, claims,
// removal and paging. A backend that passes can serve the dispatcher (the lease: lease-contract.ts).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ulid } from 'ulid';
import type { ReadyQueue } from '../src/queue/ready-queue.js';

/** A fresh, empty queue per call; the suite never shares one between tests. */
export type MakeQueue = () => Promise<ReadyQueue>;

const T0 = Date.UTC(2026, 0, 1);
/** A new run id created `ms` after T0 (ULIDs sort by creation time; each call gives another id). */
const runAt = (ms: number): string => ulid(T0 + ms);

export function readyQueueContract(backend: string, make: MakeQueue): void {
  describe(`ready queue contract: ${backend}`, () => {
    it('hands out runs by priority, then oldest first', async () => {
      const q = await make();
      const [old, mid, young, urgent] = [runAt(1), runAt(2), runAt(3), runAt(4)];
      await q.enqueue([
        { runId: young, jobId: 'j', priority: 50 },
        { runId: urgent, jobId: 'j', priority: 90 },
        { runId: old, jobId: 'j', priority: 50 },
        { runId: mid, jobId: 'j', priority: 50 },
      ]);
      expect(await q.claimMany([{ jobId: 'j', count: 2 }])).toEqual([[urgent, old]]);
      expect(await q.claimMany([{ jobId: 'j', count: 10 }])).toEqual([[mid, young]]);
      expect(await q.claimMany([{ jobId: 'j', count: 1 }])).toEqual([[]]);
    });

    it('keeps a run queued once however often it is enqueued', async () => {
      const q = await make();
      const r = runAt(5);
      await q.enqueue([{ runId: r, jobId: 'j', priority: 50 }]);
      await q.enqueue([{ runId: r, jobId: 'j', priority: 50 }]);
      expect(await q.depth()).toBe(1);
      expect(await q.claimMany([{ jobId: 'j', count: 5 }])).toEqual([[r]]);
    });

    it('lists jobs with queued runs by their head run, with depth, and forgets emptied ones', async () => {
      const q = await make();
      const bHead = runAt(10);
      await q.enqueue([
        { runId: bHead, jobId: 'b', priority: 50 },
        { runId: runAt(11), jobId: 'b', priority: 50 },
        { runId: runAt(20), jobId: 'a', priority: 80 },
        { runId: runAt(5), jobId: 'c', priority: 50 },
      ]);
      const { jobs, more } = await q.readyJobs(0, 10);
      expect(more).toBe(false);
      expect(jobs.map((j) => [j.jobId, j.depth])).toEqual([
        ['a', 1],
        ['c', 1],
        ['b', 2],
      ]);
      expect(jobs[2]?.headRunId).toBe(bHead);
      await q.claimMany([{ jobId: 'a', count: 1 }]);
      expect((await q.readyJobs(0, 10)).jobs.map((j) => j.jobId)).toEqual(['c', 'b']);
      expect(await q.depth()).toBe(3);
    });

    it('counts queued runs per priority across jobs, and forgets priorities once emptied', async () => {
      const q = await make();
      expect(await q.depthByPriority()).toEqual(new Map());
      await q.enqueue([
        { runId: runAt(1), jobId: 'a', priority: 100 },
        { runId: runAt(2), jobId: 'a', priority: 50 },
        { runId: runAt(3), jobId: 'a', priority: 50 },
        { runId: runAt(4), jobId: 'b', priority: 50 },
        { runId: runAt(5), jobId: 'b', priority: 0 },
        { runId: runAt(6), jobId: 'c', priority: 7 },
      ]);
      expect(await q.depthByPriority()).toEqual(
        new Map([
          [100, 1],
          [50, 3],
          [7, 1],
          [0, 1],
        ]),
      );
      await q.claimMany([{ jobId: 'a', count: 1 }]);
      await q.remove('c', [(await q.readyJobs()).jobs.find((j) => j.jobId === 'c')?.headRunId ?? '']);
      expect(await q.depthByPriority()).toEqual(
        new Map([
          [50, 3],
          [0, 1],
        ]),
      );
      expect([...(await q.depthByPriority()).values()].reduce((a, b) => a + b, 0)).toBe(await q.depth());
    });

    it('counts per priority exactly what was queued, for any set of runs', async () => {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              priority: fc.integer({ min: 0, max: 100 }),
              at: fc.integer({ min: 0, max: 1_000_000 }),
              job: fc.integer({ min: 0, max: 3 }),
            }),
            {
              maxLength: 40,
            },
          ),
          async (specs) => {
            const q = await make();
            const runs = specs.map((s) => ({ runId: runAt(s.at), jobId: `depth-${n}-${s.job}`, priority: s.priority }));
            n++;
            await q.enqueue(runs);
            const expected = new Map<number, number>();
            for (const r of runs) expected.set(r.priority, (expected.get(r.priority) ?? 0) + 1);
            expect(await q.depthByPriority()).toEqual(expected);
          },
        ),
        { numRuns: 20 },
      );
    });

    it('pages through the jobs', async () => {
      const q = await make();
      await q.enqueue(Array.from({ length: 5 }, (_, i) => ({ runId: runAt(100 + i), jobId: `job-${i}`, priority: 50 })));
      const first = await q.readyJobs(0, 2);
      const second = await q.readyJobs(2, 2);
      const last = await q.readyJobs(4, 2);
      expect([first.more, second.more, last.more]).toEqual([true, true, false]);
      expect([...first.jobs, ...second.jobs, ...last.jobs].map((j) => j.jobId)).toEqual(['job-0', 'job-1', 'job-2', 'job-3', 'job-4']);
    });

    it('removes given runs, moving the head on', async () => {
      const q = await make();
      const [a, b, c] = [runAt(1), runAt(2), runAt(3)];
      await q.enqueue([a, b, c].map((runId) => ({ runId, jobId: 'j', priority: 50 })));
      expect(await q.remove('j', [a, 'not-queued'])).toBe(1);
      expect((await q.readyJobs()).jobs[0]?.headRunId).toBe(b);
      expect(await q.remove('j', [b, c])).toBe(2);
      expect((await q.readyJobs()).jobs).toEqual([]);
      expect(await q.remove('other', [a])).toBe(0);
    });

    it("evicts given runs, naming those that were queued, and lists a job's runs a page at a time", async () => {
      const q = await make();
      const [a, b, c, d] = [runAt(1), runAt(2), runAt(3), runAt(4)];
      await q.enqueue([a, b, c, d].map((runId) => ({ runId, jobId: 'j', priority: 50 })));
      expect(await q.runsOf(['j', 'none'], 0, 2)).toEqual([[a, b], []]);
      expect(await q.runsOf(['j'], 2, 10)).toEqual([[c, d]]);
      expect(await q.evict('j', [b, 'not-queued', b])).toEqual([b]);
      expect(await q.evict('j', [a])).toEqual([a]);
      expect((await q.readyJobs()).jobs[0]?.headRunId).toBe(c);
      expect(await q.evict('other', [c])).toEqual([]);
      expect((await q.evict('j', [c, d])).sort()).toEqual([c, d]);
      expect((await q.readyJobs()).jobs).toEqual([]);
      expect(await q.depth()).toBe(0);
    });

    it('keeps exactly the runs enqueued and not claimed, removed or evicted, for any sequence of changes', async () => {
      let n = 0;
      const op = fc.oneof(
        fc.record({ kind: fc.constant('enqueue' as const), job: fc.integer({ min: 0, max: 2 }), run: fc.integer({ min: 0, max: 15 }) }),
        fc.record({ kind: fc.constant('claim' as const), job: fc.integer({ min: 0, max: 2 }), count: fc.integer({ min: 0, max: 3 }) }),
        fc.record({
          kind: fc.constantFrom('evict' as const, 'remove' as const),
          job: fc.integer({ min: 0, max: 2 }),
          runs: fc.array(fc.integer({ min: 0, max: 15 }), { maxLength: 4 }),
        }),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 30 }), async (ops) => {
          const q = await make();
          const ids = Array.from({ length: 16 }, (_, i) => runAt(1000 + i));
          const jobs = [0, 1, 2].map((j) => `model-${n}-${j}`);
          n++;
          // The model: each job's queued runs, and which job a run was first enqueued under.
          const model = jobs.map(() => new Set<string>());
          for (const o of ops) {
            const jobId = jobs[o.job] as string;
            const held = model[o.job] as Set<string>;
            if (o.kind === 'enqueue') {
              await q.enqueue([{ runId: ids[o.run] as string, jobId, priority: 50 }]);
              held.add(ids[o.run] as string);
            } else if (o.kind === 'claim') {
              const [claimed = []] = await q.claimMany([{ jobId, count: o.count }]);
              const expected = [...held].sort().slice(0, o.count);
              expect(claimed).toEqual(expected);
              for (const id of claimed) held.delete(id);
            } else {
              const named = o.runs.map((i) => ids[i] as string);
              const there = [...new Set(named)].filter((id) => held.has(id));
              if (o.kind === 'evict') expect((await q.evict(jobId, named)).sort()).toEqual(there.sort());
              else expect(await q.remove(jobId, [...new Set(named)])).toBe(there.length);
              for (const id of there) held.delete(id);
            }
          }
          expect(await q.runsOf(jobs, 0, 100)).toEqual(model.map((m) => [...m].sort()));
          expect(await q.depth()).toBe(model.reduce((t, m) => t + m.size, 0));
        }),
        { numRuns: 40 },
      );
    });

    it('claims for several jobs at once', async () => {
      const q = await make();
      const [x1, y1, y2] = [runAt(1), runAt(2), runAt(3)];
      await q.enqueue([
        { runId: x1, jobId: 'x', priority: 50 },
        { runId: y1, jobId: 'y', priority: 50 },
        { runId: y2, jobId: 'y', priority: 50 },
      ]);
      expect(
        await q.claimMany([
          { jobId: 'x', count: 3 },
          { jobId: 'y', count: 1 },
          { jobId: 'z', count: 1 },
        ]),
      ).toEqual([[x1], [y1], []]);
    });

    it('hands runs out in the order of a sort by (priority desc, id asc), for any set of runs', async () => {
      const q = await make();
      let n = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ priority: fc.integer({ min: 0, max: 100 }), at: fc.integer({ min: 0, max: 1_000_000 }) }), {
            maxLength: 40,
          }),
          async (specs) => {
            const jobId = `prop-${n++}`;
            const runs = specs.map((s) => ({ runId: runAt(s.at), jobId, priority: s.priority }));
            await q.enqueue(runs);
            const expected = [...new Map(runs.map((r) => [r.runId, r])).values()]
              .sort((a, b) => b.priority - a.priority || (a.runId < b.runId ? -1 : 1))
              .map((r) => r.runId);
            const [claimed] = await q.claimMany([{ jobId, count: 1000 }]);
            // Runs created in the same millisecond share a score; their order is by id either way.
            expect(claimed).toEqual(expected);
          },
        ),
        { numRuns: 30 },
      );
    });

    it('answers a ping and says where it lives', async () => {
      const q = await make();
      await expect(q.ping()).resolves.toBeUndefined();
      expect(q.describe).toMatch(/^(memory|redis:\/\/)/);
    });
  });
}
