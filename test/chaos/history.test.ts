// The history checker on hand-made histories: sound ones pass with the right figures, and each
// kind of violation a fault could cause is flagged (unit project: no servers needed).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkHistory, type History, type HistoryRun, type HistoryTransition } from './history.js';
import { parseMarks, withKilledEnds, type MarkedExecution } from './marks.js';

const JOB = 'job-1';
const step = (runId: string, from: string | null, to: string, token: number): HistoryTransition => ({
  runId,
  from,
  to,
  token,
  reason: null,
});
const run = (id: string, state: string, attempt: number, fireAtMs: number | null = null): HistoryRun => ({
  id,
  jobId: JOB,
  state,
  attempt,
  fireAtMs,
});
const exec = (runId: string, attempt: number, startMs: number, endMs?: number): MarkedExecution => ({
  runId,
  attempt,
  startMs,
  ...(endMs === undefined ? {} : { endMs, how: 'finished' as const }),
});

/** One run that succeeded at its first attempt. */
const once = (id: string, at = 0): Pick<History, 'runs' | 'transitions'> & { executions: MarkedExecution[] } => ({
  runs: [run(id, 'succeeded', 1)],
  transitions: [
    step(id, null, 'queued', 0),
    step(id, 'queued', 'offered', 1),
    step(id, 'offered', 'running', 1),
    step(id, 'running', 'succeeded', 1),
  ],
  executions: [exec(id, 1, at, at + 3000)],
});

/** A run whose first attempt was lost with its agent and retried. */
const lostThenRetried = (id: string): History => ({
  runs: [run(id, 'succeeded', 2)],
  transitions: [
    step(id, null, 'queued', 0),
    step(id, 'queued', 'offered', 1),
    step(id, 'offered', 'running', 1),
    step(id, 'running', 'lost', 1),
    step(id, 'lost', 'queued', 1),
    step(id, 'queued', 'offered', 2),
    step(id, 'offered', 'running', 2),
    step(id, 'running', 'succeeded', 2),
  ],
  executions: [exec(id, 1, 0, 5000), exec(id, 2, 20_000, 23_000)],
});

const expectations = (triggered: string[], maxAttempts = 3) => ({ triggered, maxAttempts: { [JOB]: maxAttempts } });

describe('checkHistory', () => {
  it('passes a sound history and counts it', () => {
    const a = once('a');
    const b = lostThenRetried('b');
    const verdict = checkHistory(
      { runs: [...a.runs, ...b.runs], transitions: [...a.transitions, ...b.transitions], executions: [...a.executions, ...b.executions] },
      expectations(['a', 'b']),
    );
    expect(verdict.violations).toEqual([]);
    expect(verdict.figures).toEqual({ runs: 2, executions: 3, duplicates: 0, lost: 0, retried: 1, overlapping: 0, unfinished: 0 });
  });

  it('passes an offer handed back (its attempt number reused under a new token)', () => {
    const id = 'r';
    const history: History = {
      runs: [run(id, 'succeeded', 1)],
      transitions: [
        step(id, null, 'queued', 0),
        step(id, 'queued', 'offered', 1),
        step(id, 'offered', 'queued', 1),
        step(id, 'queued', 'offered', 2),
        step(id, 'offered', 'running', 2),
        step(id, 'running', 'succeeded', 2),
      ],
      executions: [exec(id, 1, 0, 3000)],
    };
    expect(checkHistory(history, expectations([id])).violations).toEqual([]);
  });

  it('flags a state that moves backwards', () => {
    const h = once('a');
    h.transitions.push(step('a', 'succeeded', 'running', 1));
    h.runs[0]!.state = 'running';
    expect(checkHistory(h, expectations(['a'])).violations.join('\n')).toMatch(/goes backwards or nowhere: succeeded → running/);
  });

  it('flags a broken chain and a token going back', () => {
    const h = lostThenRetried('a');
    h.transitions[6] = step('a', 'offered', 'running', 1);
    h.transitions.splice(2, 1);
    const text = checkHistory(h, expectations(['a'])).violations.join('\n');
    expect(text).toMatch(/goes running → lost but the run was offered/);
    expect(text).toMatch(/carries token 1 after token 2/);
  });

  it('flags two results accepted for one attempt', () => {
    const h = once('a');
    h.transitions.splice(3, 0, step('a', 'running', 'failed', 1), step('a', 'failed', 'cancelled', 1));
    h.transitions[5] = step('a', 'cancelled', 'succeeded', 1);
    expect(checkHistory(h, expectations(['a'])).violations.join('\n')).toMatch(/results accepted|goes backwards/);
    const twice = once('b');
    twice.transitions.push(step('b', 'succeeded', 'running', 1), step('b', 'running', 'succeeded', 1));
    expect(checkHistory(twice, expectations(['b'])).violations.join('\n')).toMatch(/2 results accepted for attempt token 1/);
  });

  it('flags a run that never ended', () => {
    const h = once('a');
    h.transitions.pop();
    h.runs[0]!.state = 'running';
    const verdict = checkHistory(h, expectations(['a']));
    expect(verdict.figures.unfinished).toBe(1);
    expect(verdict.violations).toEqual(['run a: not terminal (running)']);
  });

  it('counts as lost a run the API returned that the database does not have', () => {
    const verdict = checkHistory(once('a'), expectations(['a', 'ghost']));
    expect(verdict.figures.lost).toBe(1);
    expect(verdict.violations).toEqual(['run ghost: the API returned it, the database does not have it']);
  });

  it('counts missing and doubled schedule fires', () => {
    const fires = [2000, 4000, 8000, 8000].map((at, i) => ({ ...once(`f${i}`), runs: [run(`f${i}`, 'succeeded', 1, at)] }));
    const history: History = {
      runs: fires.flatMap((f) => f.runs),
      transitions: fires.flatMap((f) => f.transitions),
      executions: fires.flatMap((f) => f.executions),
    };
    const verdict = checkHistory(history, { ...expectations([]), fires: [{ jobId: JOB, everyMs: 2000, fromMs: 1500, untilMs: 8000 }] });
    expect(verdict.figures.lost).toBe(1);
    expect(verdict.violations).toEqual([
      `job ${JOB}: the fire at 1970-01-01T00:00:06.000Z has no run`,
      `job ${JOB}: the fire at 1970-01-01T00:00:08.000Z has 2 runs`,
    ]);
  });

  it('counts an attempt executed twice as a duplicate, and two executions at once as overlapping', () => {
    const h = once('a');
    h.executions.push(exec('a', 1, 1000, 4000));
    const verdict = checkHistory(h, expectations(['a']));
    expect(verdict.figures).toMatchObject({ executions: 2, duplicates: 1, overlapping: 1 });
    expect(verdict.violations).toEqual([
      'run a: attempt 1 executed again or beyond the 1 its policy and history allow',
      'run a: attempts 1 and 1 executed at the same time (1: 1970-01-01T00:00:00.000Z – 1970-01-01T00:00:03.000Z finished; 1: 1970-01-01T00:00:01.000Z – 1970-01-01T00:00:04.000Z finished)',
    ]);
  });

  it('counts executions beyond the retry policy as duplicates, even when the database went along', () => {
    const h = lostThenRetried('a');
    expect(checkHistory(h, expectations(['a'], 1)).figures.duplicates).toBe(1);
  });

  it('flags an execution of a run the database does not know', () => {
    const h = once('a');
    h.executions.push(exec('stranger', 1, 0, 1));
    expect(checkHistory(h, expectations(['a'])).violations).toEqual(['run stranger: executed 1× but unknown to the database']);
  });

  it('takes an execution killed without an end as still running: a later one overlaps it', () => {
    const h = lostThenRetried('a');
    h.executions[0] = exec('a', 1, 0);
    expect(checkHistory(h, expectations(['a'])).figures.overlapping).toBe(1);
  });

  it('takes a killed execution to have ended when its process was seen gone', () => {
    const h = lostThenRetried('a');
    h.executions[0] = { ...exec('a', 1, 0), pid: 42 };
    const seenGone = (at: number) =>
      checkHistory({ ...h, executions: withKilledEnds(h.executions, new Map([[42, at]])) }, expectations(['a']));
    expect(seenGone(6000).figures.overlapping).toBe(0);
    expect(seenGone(21_000).violations).toEqual([
      'run a: attempts 1 and 2 executed at the same time (1: 1970-01-01T00:00:00.000Z – 1970-01-01T00:00:21.000Z killed; 2: 1970-01-01T00:00:20.000Z – 1970-01-01T00:00:23.000Z finished)',
    ]);
  });

  it('never calls sequential executions within the policy duplicates (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.integer({ min: 1, max: 10_000 }), { minLength: 1, maxLength: 5 }),
        (max, gaps) => {
          const attempts = Math.min(max, gaps.length);
          let t = 0;
          const executions = gaps.slice(0, attempts).map((gap, i) => {
            const e = exec('p', i + 1, t, t + gap);
            t += gap;
            return e;
          });
          const h: History = { runs: [run('p', 'succeeded', attempts)], transitions: [], executions };
          const f = checkHistory(h, expectations(['p'], max)).figures;
          return f.duplicates === 0 && f.overlapping === 0 && f.executions === attempts;
        },
      ),
    );
  });
});

describe('parseMarks', () => {
  it('keeps every start as an execution of its own and closes the oldest open one', () => {
    const ms = (n: number) => `${n}000000`;
    const executions = parseMarks([
      `start r1 1 ${ms(10)} 100`,
      `start r1 1 ${ms(20)} 200`,
      `stopped r1 1 ${ms(30)}`,
      `start r2 1 ${ms(15)} 300`,
      'garbage',
      `finished r2 1 ${ms(40)}`,
    ]);
    expect(executions).toEqual([
      { runId: 'r1', attempt: 1, pid: 100, startMs: 10, endMs: 30, how: 'stopped' },
      { runId: 'r2', attempt: 1, pid: 300, startMs: 15, endMs: 40, how: 'finished' },
      { runId: 'r1', attempt: 1, pid: 200, startMs: 20 },
    ]);
  });
});
