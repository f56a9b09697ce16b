// Counting executions, not transitions: a job made with `markingExecutor` appends a line to a
// marks file when each execution starts and when it ends (or is stopped with SIGTERM), with
// the time in nanoseconds. `readExecutions` turns the file into executions, so a test asserts
// how many times each run really ran, at which attempts, and that no two ever overlapped.
import { existsSync, readFileSync } from 'node:fs';

export interface Execution {
  runId: string;
  attempt: number;
  startNs: bigint;
  /** When it ended, undefined while it runs (or if it was killed with SIGKILL). */
  endNs?: bigint;
  /** `finished` (its sleep ran out) or `stopped` (SIGTERM); undefined until it ends. */
  how?: 'finished' | 'stopped';
}

/** An exec executor that records its start and end in `marks`, sleeping `seconds` in between. */
export function markingExecutor(marks: string, seconds: number): { type: 'exec'; command: string[] } {
  const script = [
    'r=$DROVER_RUN_ID; a=$DROVER_ATTEMPT',
    `echo "start $r $a $(date +%s%N)" >> '${marks}'`,
    `trap 'echo "stopped $r $a $(date +%s%N)" >> '"'"'${marks}'"'"'; exit 143' TERM`,
    `sleep ${seconds} & wait $!`,
    `echo "finished $r $a $(date +%s%N)" >> '${marks}'`,
  ].join('\n');
  return { type: 'exec', command: ['sh', '-c', script] };
}

/** The non-empty lines of a marks file (a job's `echo ... >> marks` per start), [] until it exists. */
export function readMarks(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean);
}

/** The executions recorded in `marks`, in the order they started. */
export function readExecutions(marks: string): Execution[] {
  if (!existsSync(marks)) return [];
  const byKey = new Map<string, Execution>();
  for (const line of readFileSync(marks, 'utf8').split('\n')) {
    const [what, runId, attempt, ns] = line.trim().split(' ');
    if (!what || !runId || !attempt || !ns) continue;
    const key = `${runId}:${attempt}`;
    if (what === 'start') byKey.set(key, { runId, attempt: Number(attempt), startNs: BigInt(ns) });
    else {
      const e = byKey.get(key);
      if (e && e.endNs === undefined) Object.assign(e, { endNs: BigInt(ns), how: what as 'finished' | 'stopped' });
    }
  }
  return [...byKey.values()].sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
}

/** Pairs of executions of one run that ran at the same time (one that never ended overlaps any later one). */
export function overlappingExecutions(executions: readonly Execution[]): Array<[Execution, Execution]> {
  const out: Array<[Execution, Execution]> = [];
  for (const [i, a] of executions.entries())
    for (const b of executions.slice(i + 1)) if (a.runId === b.runId && (a.endNs === undefined || a.endNs > b.startNs)) out.push([a, b]);
  return out;
}
