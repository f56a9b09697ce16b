// A dispatcher without processes: the real Dispatcher over embedded PostgreSQL (PGlite,
// migrated as `drover dev` does), the in-memory ready queue, and a fake agent channel that
// records every offer and answers as each agent is scripted to (accept, refuse, never answer).
// One harness per test file (PGlite takes a moment to start); `reset` between tests.
import pino from 'pino';
import { ulid } from 'ulid';
import { PROTOCOL_VERSION, type Capacity, type JobDefinition, type OfferRequest, type OfferResponse, type RunOffer } from '@drover/shared';
import { Dispatcher } from '../src/dispatch/dispatcher.js';
import { FleetView } from '../src/dispatch/fleet-view.js';
import { JobCache } from '../src/dispatch/job-cache.js';
import { CoordinatorMetrics } from '../src/metrics/coordinator-metrics.js';
import { MemoryReadyQueue } from '../src/queue/memory-queue.js';
import type { SecretsKey } from '../src/security/secrets-crypto.js';
import { listAgents, upsertAgent } from '../src/store/agents.js';
import { openDatabase, type Db } from '../src/store/db.js';
import { insertRuns } from '../src/store/insert-runs.js';
import { deleteJob, insertJob } from '../src/store/jobs.js';
import { migrateToLatest } from '../src/store/migrator.js';
import { getRun, getTransitions, type Transition } from '../src/store/query-runs.js';
import type { Run } from '../src/store/run-model.js';
import { AgentNoAnswer, type AgentChannel } from '../src/transport/agent-channel.js';

/** How a fake agent answers offers: take them all, refuse them all with a reason, never answer, or never get them. */
export type AgentScript =
  | { answer: 'accept' }
  | { answer: 'refuse'; reason: string }
  | { answer: 'silent' }
  /** The offer never leaves (the agent's node is gone from the bus): surely not acted on. */
  | { answer: 'unreachable' };

/** One offer message as the channel received it. */
export interface RecordedOffer {
  agentId: string;
  nodeId: string;
  offers: RunOffer[];
}

const nodeOf = (agentId: string): string => `agent-${agentId}`;

/** Records offers and answers them per agent script; agents without a script accept. */
export class FakeAgentChannel implements AgentChannel {
  readonly offers: RecordedOffer[] = [];
  readonly scripts = new Map<string, AgentScript>();

  reachable(): boolean {
    return true;
  }

  async offer(nodeId: string, req: OfferRequest): Promise<OfferResponse> {
    const agentId = nodeId.replace(/^agent-/, '');
    this.offers.push({ agentId, nodeId, offers: req.offers });
    const script = this.scripts.get(agentId) ?? { answer: 'accept' };
    // The offer left and no answer came: what a timeout on the bus looks like to the dispatcher.
    if (script.answer === 'silent') throw new AgentNoAnswer(`no answer from ${nodeId}`);
    if (script.answer === 'unreachable') throw new Error(`${nodeId} is not on the bus`);
    const ids = req.offers.map((o) => o.runId);
    return {
      accepted: script.answer === 'accept' ? ids : [],
      refused: script.answer === 'refuse' ? ids.map((runId) => ({ runId, reason: script.reason })) : [],
      // An older version than any the fleet view holds: the harness keeps capacity as registered.
      capacity: { agentId, version: -1, free: { slots: 0, cpu: 0, memoryBytes: 0 } },
      agentId,
    };
  }

  async stop(): Promise<void> {}

  /** The run ids offered to one agent, in order. */
  offeredTo(agentId: string): string[] {
    return this.offers.filter((o) => o.agentId === agentId).flatMap((o) => o.offers.map((r) => r.runId));
  }
}

export interface DispatchHarness {
  db: Db;
  queue: MemoryReadyQueue;
  fleet: FleetView;
  jobs: JobCache;
  channel: FakeAgentChannel;
  dispatcher: Dispatcher;
  /** What `holdsLease` answers (false plays a leader whose lease lapsed), and how often it was asked. */
  lease: { held: boolean; asked: number };
  /** Registers a ready agent with this much free capacity and puts it in the fleet view. */
  addAgent(agentId: string, free: Partial<Capacity>, script?: AgentScript): Promise<void>;
  /** Creates a job; returns its id. */
  createJob(def?: Partial<JobDefinition>): Promise<string>;
  /** Queues `count` runs of a job, in PostgreSQL and the ready queue; returns their ids. */
  queueRuns(jobId: string, count?: number): Promise<string[]>;
  /** `queueRuns`, then kicks the dispatcher as the API does. */
  trigger(jobId: string, count?: number): Promise<string[]>;
  /** Deletes a job as another coordinator would: its row only, the cached copy dropped. */
  deleteJob(jobId: string): Promise<void>;
  run(runId: string): Promise<Run>;
  transitions(runId: string): Promise<Transition[]>;
  /** Waits until `check` holds (it throws until then), kicking nothing. */
  until<T>(check: () => Promise<T> | T, timeoutMs?: number): Promise<T>;
  /** A fresh fleet, queue, channel and dispatcher over the same database. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

const total: Capacity = { slots: 4, cpu: 4, memoryBytes: 8 * 2 ** 30 };

/** Starts PGlite in memory, applies the migrations, and wires a dispatcher to it. */
export async function startDispatchHarness(opts: { secretsKey?: SecretsKey; offerTimeoutMs?: number } = {}): Promise<DispatchHarness> {
  const url = 'pglite:memory';
  // Opened first: the in-memory database lives as long as someone holds it, migrations included.
  const db = await openDatabase(url);
  await migrateToLatest(url);
  const log = pino({ level: 'silent' });
  const metrics = new CoordinatorMetrics({ processMetrics: false });
  const lease = { held: true, asked: 0 };
  /** The agents of this test: earlier tests' agents stay in PostgreSQL, out of the fleet view. */
  let agentIds = new Set<string>();

  const h = { db, lease } as DispatchHarness;
  const wire = () => {
    h.dispatcher?.stop();
    h.queue = new MemoryReadyQueue();
    h.fleet = new FleetView();
    h.jobs = new JobCache(db);
    h.channel = new FakeAgentChannel();
    lease.held = true;
    lease.asked = 0;
    agentIds = new Set();
    h.dispatcher = new Dispatcher({
      db,
      dispatchDb: db,
      queue: h.queue,
      fleet: h.fleet,
      jobs: h.jobs,
      agents: h.channel,
      log,
      metrics,
      now: Date.now,
      offerTimeoutMs: opts.offerTimeoutMs ?? 1000,
      secretsKey: opts.secretsKey,
      holdsLease: () => {
        lease.asked++;
        return lease.held;
      },
    });
  };
  wire();

  h.addAgent = async (agentId, free, script) => {
    await upsertAgent(db, {
      protocol: PROTOCOL_VERSION,
      agentId,
      nodeId: nodeOf(agentId),
      name: agentId,
      version: 'test',
      attributes: {},
      labels: {},
      executors: ['exec', 'noop'],
      total,
      free: { ...total, ...free },
      runs: [],
    });
    if (script) h.channel.scripts.set(agentId, script);
    agentIds.add(agentId);
    h.fleet.replace((await listAgents(db, ['ready'])).filter((a) => agentIds.has(a.id)));
  };
  h.createJob = async (def = {}) => {
    const job = await insertJob(db, ulid(), { name: `job-${ulid().toLowerCase()}`, executor: { type: 'noop' }, ...def } as JobDefinition);
    return job.id;
  };
  h.queueRuns = async (jobId, count = 1) => {
    const now = Date.now();
    const inserted = await insertRuns(
      db,
      Array.from({ length: count }, () => ({
        id: ulid(),
        jobId,
        state: 'queued' as const,
        priority: 50,
        trigger: 'manual' as const,
        parameters: {},
        createdAt: now,
      })),
    );
    await h.queue.enqueue(inserted.map((r) => ({ runId: r.id, jobId: r.jobId, priority: r.priority })));
    return inserted.map((r) => r.id);
  };
  h.trigger = async (jobId, count) => {
    const ids = await h.queueRuns(jobId, count);
    h.dispatcher.kick();
    return ids;
  };
  h.deleteJob = async (jobId) => {
    await deleteJob(db, jobId);
    h.jobs.invalidate(jobId);
  };
  h.run = async (runId) => {
    const run = await getRun(db, runId);
    if (!run) throw new Error(`no run ${runId}`);
    return run;
  };
  h.transitions = (runId) => getTransitions(db, runId);
  h.until = async (check, timeoutMs = 5000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await check();
      } catch (err) {
        if (Date.now() >= deadline) throw err;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  h.reset = async () => wire();
  h.close = async () => {
    h.dispatcher.stop();
    await db.destroy();
  };
  return h;
}
