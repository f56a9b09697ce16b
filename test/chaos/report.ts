// One line of figures per scenario: printed to stdout and appended to the results file
// (test-artifacts/chaos-results.jsonl, gitignored; DROVER_CHAOS_RESULTS names another), which
// `node scripts/chaos-table.mjs` turns into the table of docs/chaos.md.
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from '../support/database.js';
import type { Figures } from './history.js';
import type { MarkedExecution } from './marks.js';

export const RESULTS_FILE = process.env.DROVER_CHAOS_RESULTS ?? join(REPO_ROOT, 'test-artifacts', 'chaos-results.jsonl');

export interface ScenarioLine {
  scenario: string;
  runs: number;
  executions: number;
  duplicates: number;
  lost: number;
  /** See recoveryMs(); null when the scenario had nothing to recover from. */
  recoveryMs: number | null;
}

/**
 * How long the cluster took to work normally again: from the fault's end (the server back, the
 * partition healed, the process resumed; for a kill or a flush, the moment it was dealt) until
 * both a run triggered at that moment (the probe) has started and every run the fault stranded
 * has started its next attempt (the latest start of an attempt after the first, after the end).
 */
export function recoveryMs(executions: readonly MarkedExecution[], faultEndMs: number, probeRunId: string): number | null {
  const probe = executions.find((e) => e.runId === probeRunId);
  if (!probe) return null;
  const retries = executions.filter((e) => e.attempt > 1 && e.startMs >= faultEndMs).map((e) => e.startMs);
  return Math.max(probe.startMs, ...retries) - faultEndMs;
}

/** Prints the scenario's line and appends it to the results file. */
export function reportScenario(scenario: string, figures: Figures, recovery: number | null): ScenarioLine {
  const line: ScenarioLine = {
    scenario,
    runs: figures.runs,
    executions: figures.executions,
    duplicates: figures.duplicates,
    lost: figures.lost,
    recoveryMs: recovery,
  };
  const text = JSON.stringify(line);
  console.log(text);
  mkdirSync(dirname(RESULTS_FILE), { recursive: true });
  appendFileSync(RESULTS_FILE, `${text}\n`);
  return line;
}
