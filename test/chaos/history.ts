// The history checker: what a chaos scenario's database and marks file say happened, judged
// against what must hold whatever the fault (issue 14):
// - states only move forward: each run's transitions chain (every step starts where the last
//   ended), follow the run lifecycle's edges, and never go back to an older attempt token; the
//   only ways back to `queued` begin a new attempt (an offer handed back, a lost or retried
//   attempt), and nothing follows a run's final state;
// - at most one accepted result per attempt (per attempt token, one step out of `running`);
// - every run terminal, none lost: each run the traffic was told exists is in the database, each
//   expected schedule fire has exactly one run;
// - executions (from the marks): none of a run the database does not know, none beyond one per
//   attempt number the run reached within its retry policy (those are the duplicates), and never
//   two of one run at once.
// Pure: the scenario reads the history (read-history.ts) and passes it in, so unit tests can
// feed it hand-made histories, including the ones it must flag.
import type { MarkedExecution } from './marks.js';
import { RUN_STATES, isTerminal } from '@drover/shared';

export interface HistoryRun {
  id: string;
  jobId: string;
  state: string;
  /** The run's attempt number now (an offer handed back gives its number back). */
  attempt: number;
  /** The schedule fire it is for, epoch ms, if any. */
  fireAtMs: number | null;
}

export interface HistoryTransition {
  runId: string;
  from: string | null;
  to: string;
  token: number;
  reason: string | null;
}

export interface History {
  runs: HistoryRun[];
  /** Every run's transitions, in the order they were written (by id). */
  transitions: HistoryTransition[];
  executions: MarkedExecution[];
}

export interface Expectations {
  /** Run ids the API returned to the traffic: each must exist. */
  triggered: readonly string[];
  /** Fires a schedule owed: every `everyMs` multiple in [fromMs, untilMs] must have exactly one run. */
  fires?: ReadonlyArray<{ jobId: string; everyMs: number; fromMs: number; untilMs: number }>;
  /** Most attempts per run the job's retry policy allows, by job id (1 when a job is not listed). */
  maxAttempts: Readonly<Record<string, number>>;
}

export interface Figures {
  runs: number;
  executions: number;
  /** Executions beyond one per attempt number the retry policy allows. */
  duplicates: number;
  /** Triggered runs missing from the database plus schedule fires without a run. */
  lost: number;
  /** Runs executed more than once, within their policy (retries after a lost attempt). */
  retried: number;
  /** Pairs of executions of one run that ran at the same time. */
  overlapping: number;
  /** Runs not in a terminal state. */
  unfinished: number;
}

export interface Verdict {
  figures: Figures;
  /** One sentence per broken rule, naming the run. Empty when the history is sound. */
  violations: string[];
}

export const TERMINAL: ReadonlySet<string> = new Set(RUN_STATES.filter(isTerminal));
const OUTCOMES = new Set(['succeeded', 'failed', 'timed_out', 'cancelled', 'lost']);

// The run lifecycle's edges (see packages/coordinator/src/store: insert-runs, offer-runs,
// apply-events, lose-runs, run-limits, cancel-runs, retry-runs; and runs/settle-ends).
const EDGES: Record<string, readonly string[]> = {
  '': ['pending', 'queued', 'skipped', 'cancelled', 'expired'],
  pending: ['queued', 'cancelled', 'expired', 'skipped'],
  queued: ['offered', 'cancelled', 'expired', 'skipped'],
  // Back to queued: the agent refused or never answered (the attempt never started).
  offered: ['running', 'queued', 'cancelled', 'lost', 'succeeded', 'failed', 'timed_out'],
  running: ['succeeded', 'failed', 'timed_out', 'cancelled', 'lost', 'retrying'],
  retrying: ['queued', 'cancelled'],
  // A lost attempt retried at once; an ended attempt of a run being cancelled ends it cancelled.
  lost: ['queued', 'cancelled'],
  failed: ['cancelled'],
  timed_out: ['cancelled'],
};

function checkTransitions(run: HistoryRun, steps: readonly HistoryTransition[], violations: string[]): void {
  const flag = (what: string): void => void violations.push(`run ${run.id}: ${what}`);
  if (steps.length === 0) return flag('has no transitions');
  let state = '';
  let token = 0;
  const acceptedPerToken = new Map<number, number>();
  for (const [i, t] of steps.entries()) {
    const from = t.from ?? '';
    if (from !== state) flag(`step ${i + 1} goes ${from || '(new)'} → ${t.to} but the run was ${state || '(new)'}`);
    if (!(EDGES[from] ?? []).includes(t.to)) flag(`step ${i + 1} goes backwards or nowhere: ${from || '(new)'} → ${t.to}`);
    if (t.token < token) flag(`step ${i + 1} (${from} → ${t.to}) carries token ${t.token} after token ${token}`);
    if (t.to === 'offered' && i > 0 && t.token <= token) flag(`step ${i + 1} offers a new attempt under old token ${t.token}`);
    if ((from === 'running' || from === 'offered') && (OUTCOMES.has(t.to) || t.to === 'retrying'))
      acceptedPerToken.set(t.token, (acceptedPerToken.get(t.token) ?? 0) + 1);
    state = t.to;
    token = Math.max(token, t.token);
  }
  for (const [tok, n] of acceptedPerToken) if (n > 1) flag(`${n} results accepted for attempt token ${tok}`);
  if (state !== run.state) flag(`is ${run.state} but its last transition went to ${state}`);
}

function overlaps(a: MarkedExecution, b: MarkedExecution): boolean {
  const [first, second] = a.startMs <= b.startMs ? [a, b] : [b, a];
  return first.endMs === undefined || first.endMs > second.startMs;
}

const span = (e: MarkedExecution): string =>
  `${e.attempt}: ${new Date(e.startMs).toISOString()} – ${e.endMs === undefined ? 'no end marked' : `${new Date(e.endMs).toISOString()} ${e.how}`}`;

/** Judges a history; see the file comment for the rules. */
export function checkHistory(history: History, expected: Expectations): Verdict {
  const violations: string[] = [];
  const runs = new Map(history.runs.map((r) => [r.id, r]));
  const stepsOf = new Map<string, HistoryTransition[]>();
  for (const t of history.transitions) stepsOf.set(t.runId, [...(stepsOf.get(t.runId) ?? []), t]);

  let unfinished = 0;
  for (const run of history.runs) {
    checkTransitions(run, stepsOf.get(run.id) ?? [], violations);
    if (!TERMINAL.has(run.state)) {
      unfinished++;
      violations.push(`run ${run.id}: not terminal (${run.state})`);
    }
  }

  let lost = 0;
  for (const id of new Set(expected.triggered))
    if (!runs.has(id)) {
      lost++;
      violations.push(`run ${id}: the API returned it, the database does not have it`);
    }
  for (const f of expected.fires ?? []) {
    const counts = new Map<number, number>();
    for (const r of history.runs) if (r.jobId === f.jobId && r.fireAtMs !== null) counts.set(r.fireAtMs, (counts.get(r.fireAtMs) ?? 0) + 1);
    for (let at = Math.ceil(f.fromMs / f.everyMs) * f.everyMs; at <= f.untilMs; at += f.everyMs) {
      const n = counts.get(at) ?? 0;
      if (n === 0) {
        lost++;
        violations.push(`job ${f.jobId}: the fire at ${new Date(at).toISOString()} has no run`);
      }
    }
    for (const [at, n] of counts) if (n > 1) violations.push(`job ${f.jobId}: the fire at ${new Date(at).toISOString()} has ${n} runs`);
    for (const r of history.runs)
      if (r.jobId === f.jobId && r.state === 'skipped') violations.push(`run ${r.id}: a fire of job ${f.jobId} was skipped`);
  }

  let duplicates = 0;
  let retried = 0;
  let overlapping = 0;
  const byRun = new Map<string, MarkedExecution[]>();
  for (const e of history.executions) byRun.set(e.runId, [...(byRun.get(e.runId) ?? []), e]);
  for (const [runId, execs] of byRun) {
    const run = runs.get(runId);
    if (!run) {
      duplicates += execs.length;
      violations.push(`run ${runId}: executed ${execs.length}× but unknown to the database`);
      continue;
    }
    const allowed = Math.min(run.attempt, expected.maxAttempts[run.jobId] ?? 1);
    const seen = new Set<number>();
    for (const e of execs) {
      if (e.attempt >= 1 && e.attempt <= allowed && !seen.has(e.attempt)) seen.add(e.attempt);
      else {
        duplicates++;
        violations.push(`run ${runId}: attempt ${e.attempt} executed again or beyond the ${allowed} its policy and history allow`);
      }
    }
    if (seen.size > 1) retried++;
    for (const [i, a] of execs.entries())
      for (const b of execs.slice(i + 1))
        if (overlaps(a, b)) {
          overlapping++;
          violations.push(`run ${runId}: attempts ${a.attempt} and ${b.attempt} executed at the same time (${span(a)}; ${span(b)})`);
        }
  }

  return {
    figures: { runs: history.runs.length, executions: history.executions.length, duplicates, lost, retried, overlapping, unfinished },
    violations,
  };
}
