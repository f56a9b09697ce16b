// The in-memory ready queue, for `drover dev` (one process, no Redis). It keeps the
// Redis backend's order exactly — runs by queueScore then run id, jobs by head score then job
// id — and passes the same contract tests. Nothing survives a restart, which is fine: the
// reconciler rebuilds the queue from PostgreSQL (PGlite) within seconds of starting.
import { priorityOfScore, queueScore, type ReadyJob, type ReadyQueue } from './ready-queue.js';

interface Entry {
  score: number;
  runId: string;
}

const before = (a: Entry, b: Entry): boolean => a.score < b.score || (a.score === b.score && a.runId < b.runId);

/** One job's queued runs, sorted; runs arrive mostly in order, so inserting is usually an append. */
class JobQueue {
  readonly entries: Entry[] = [];
  readonly members = new Set<string>();

  add(e: Entry): void {
    if (this.members.has(e.runId)) return;
    this.members.add(e.runId);
    let lo = this.entries.length;
    if (lo > 0 && before(e, this.entries[lo - 1] as Entry)) {
      let hi = lo;
      lo = 0;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (before(this.entries[mid] as Entry, e)) lo = mid + 1;
        else hi = mid;
      }
    }
    this.entries.splice(lo, 0, e);
  }

  take(n: number): string[] {
    const taken = this.entries.splice(0, n).map((e) => e.runId);
    for (const id of taken) this.members.delete(id);
    return taken;
  }

  remove(ids: ReadonlySet<string>): number {
    let n = 0;
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const id = (this.entries[i] as Entry).runId;
      if (ids.has(id) && this.members.delete(id)) {
        this.entries.splice(i, 1);
        n++;
      }
    }
    return n;
  }
}

/** The ready queue in this process's memory. */
export class MemoryReadyQueue implements ReadyQueue {
  readonly describe = 'memory';
  private readonly jobs = new Map<string, JobQueue>();

  constructor(private readonly now: () => number = Date.now) {}

  async enqueue(runs: ReadonlyArray<{ runId: string; jobId: string; priority: number }>): Promise<void> {
    for (const r of runs) {
      let q = this.jobs.get(r.jobId);
      if (!q) this.jobs.set(r.jobId, (q = new JobQueue()));
      q.add({ score: queueScore(r.priority, r.runId), runId: r.runId });
    }
  }

  async claimMany(claims: ReadonlyArray<{ jobId: string; count: number }>): Promise<string[][]> {
    return claims.map((c) => {
      const q = this.jobs.get(c.jobId);
      if (!q) return [];
      const taken = q.take(c.count);
      if (q.entries.length === 0) this.jobs.delete(c.jobId);
      return taken;
    });
  }

  async remove(jobId: string, runIds: string[]): Promise<number> {
    const q = this.jobs.get(jobId);
    if (!q) return 0;
    const n = q.remove(new Set(runIds));
    if (q.entries.length === 0) this.jobs.delete(jobId);
    return n;
  }

  async evict(jobId: string, runIds: readonly string[]): Promise<string[]> {
    const q = this.jobs.get(jobId);
    if (!q) return [];
    const gone = [...new Set(runIds)].filter((id) => q.members.has(id));
    q.remove(new Set(gone));
    if (q.entries.length === 0) this.jobs.delete(jobId);
    return gone;
  }

  async runsOf(jobIds: readonly string[], offset: number, limit: number): Promise<string[][]> {
    return jobIds.map((jobId) => (this.jobs.get(jobId)?.entries ?? []).slice(offset, offset + limit).map((e) => e.runId));
  }

  async readyJobs(offset = 0, limit = 1000): Promise<{ jobs: ReadyJob[]; more: boolean }> {
    const all: ReadyJob[] = [...this.jobs].map(([jobId, q]) => {
      const head = q.entries[0] as Entry;
      return { jobId, depth: q.entries.length, headScore: head.score, headRunId: head.runId };
    });
    all.sort((a, b) => a.headScore - b.headScore || (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0));
    const jobs = all.slice(offset, offset + limit);
    return { jobs, more: jobs.length >= limit };
  }

  async depth(): Promise<number> {
    let n = 0;
    for (const q of this.jobs.values()) n += q.entries.length;
    return n;
  }

  async depthByPriority(): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    for (const q of this.jobs.values())
      for (const e of q.entries) {
        const priority = priorityOfScore(e.score);
        out.set(priority, (out.get(priority) ?? 0) + 1);
      }
    return out;
  }

  async ping(): Promise<void> {}
}
