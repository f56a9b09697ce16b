// One dispatch pass, decided: which agents take the runs of each ready job, why the runs of
// the others wait, which deleted jobs' runs to cancel, and whether anything was left over.
// Pure: it reads a snapshot of the fleet and the jobs the dispatcher gathered (queue pages,
// compiled jobs, secret problems) and returns a plan; the dispatcher's commit step claims,
// marks and sends. Pages are fed one at a time (`PassPlanner`), because whether the next page
// is worth reading depends on what the previous ones used up.
import { eligibleAgents, placeRuns, type AgentView, type PlacementRequest } from '@drover/shared';

/** A job with queued runs, as the dispatcher gathered it for planning. */
export interface ReadyJobInput {
  jobId: string;
  /** How many runs of it are queued. */
  depth: number;
  /** What placement needs of it; null when the job no longer exists (deleted). */
  requirements: PlacementRequest | null;
  /** Why its secrets cannot be had now; its runs then wait with this reason. */
  secretProblem?: string | undefined;
}

/** One page of the ready queue, in queue order. */
export interface ReadyPage {
  jobs: readonly ReadyJobInput[];
  /** Whether the queue holds more jobs after this page. */
  more: boolean;
}

/** Runs of one job to claim, and the agent each goes to, in queue order. */
export interface JobPlacement {
  jobId: string;
  agents: string[];
}

export interface PassPlan {
  /** The queue held no job at all (the first page was empty and the last). */
  empty: boolean;
  /** Runs to claim, per job placed. */
  placements: JobPlacement[];
  /**
   * Why each job read could not be placed (null: it could, or it only waits for a slot), to
   * write once per pass. Not kept across passes: the runs behind a reason can be others by then.
   */
  reasons: Map<string, string | null>;
  /** Deleted jobs whose queued runs nothing would ever run: cancel them. */
  deleted: string[];
  /** Whether runs may remain queued after this plan is carried out (another pass may place them). */
  leftOver: boolean;
  /** How many pages were read. */
  pages: number;
}

/**
 * Plans a pass page by page against one snapshot of the fleet (copied: the caller's views are
 * left as they were). Read a page while `wantsPage`, `add` it, then `finish`.
 */
export class PassPlanner {
  private readonly agents: AgentView[];
  private freeSlots: number;
  private lastPageRead = false;
  private readonly plan: PassPlan = { empty: false, placements: [], reasons: new Map(), deleted: [], leftOver: false, pages: 0 };

  constructor(
    agents: readonly AgentView[],
    /** Read every page, even with no slot free, so runs no agent can take get their reason. */
    private readonly fullScan: boolean,
  ) {
    this.agents = agents.map((a) => ({ ...a, free: { ...a.free } }));
    this.freeSlots = this.agents.reduce((n, a) => n + a.free.slots, 0);
  }

  /**
   * Whether the next page is worth reading: only while slots remain, so a pass costs what it
   * places rather than the whole backlog, unless a full scan is due.
   */
  get wantsPage(): boolean {
    return !this.lastPageRead && (this.fullScan || this.freeSlots > 0);
  }

  /** Plans the jobs of the next page. */
  add(page: ReadyPage): void {
    if (this.plan.pages === 0 && page.jobs.length === 0 && !page.more) this.plan.empty = true;
    this.plan.pages++;
    for (const job of page.jobs) this.place(job);
    if (!page.more) this.lastPageRead = true;
    // Pages are positions in a list that can shift under us (a job emptied or deleted
    // mid-pass): never conclude "nothing left" from a pass that read more than one page.
    else this.plan.leftOver = true;
  }

  /** The plan; pages not read count as left over (capacity events bring the dispatcher back). */
  finish(): PassPlan {
    if (!this.lastPageRead) this.plan.leftOver = true;
    return this.plan;
  }

  private place(job: ReadyJobInput): void {
    const { plan } = this;
    if (!job.requirements) {
      // Its queued runs were cancelled with it, but a run that was offered then and refused
      // since, or triggered while it was deleted, came back queued: nothing would run it.
      plan.deleted.push(job.jobId);
      return;
    }
    if (job.secretProblem) {
      plan.leftOver = true;
      plan.reasons.set(job.jobId, job.secretProblem);
      return;
    }
    if (this.freeSlots <= 0) {
      // The fleet is full: say why where no agent could ever take the job; where one could,
      // the runs wait for a slot, and a reason written while none could is wrong now.
      plan.leftOver = true;
      const { eligible, reason } = eligibleAgents(this.agents, job.requirements);
      plan.reasons.set(job.jobId, eligible.length === 0 && reason ? reason : null);
      return;
    }
    const placed = placeRuns(this.agents, job.requirements, job.depth);
    // Placeable: no reason, also when every run read is placed — runs queued since the read,
    // or that the claim does not get, may carry an old one. The write touches only rows whose
    // reason differs, so it costs one statement per pass and rewrites nothing that is right.
    plan.reasons.set(job.jobId, !placed.satisfiable && placed.reason ? placed.reason : null);
    if (placed.assignments.length < job.depth) plan.leftOver = true;
    if (placed.assignments.length > 0) plan.placements.push({ jobId: job.jobId, agents: placed.assignments });
    this.freeSlots -= placed.assignments.length;
  }
}

/** Plans a pass over pages already at hand, reading them as the dispatcher would (see `pages`). */
export function planPass(input: { agents: readonly AgentView[]; pages: readonly ReadyPage[]; fullScan: boolean }): PassPlan {
  const planner = new PassPlanner(input.agents, input.fullScan);
  for (const page of input.pages) {
    if (!planner.wantsPage) break;
    planner.add(page);
  }
  return planner.finish();
}
