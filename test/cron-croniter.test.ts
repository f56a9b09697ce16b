// Cron against an independent implementation: Debian's python3-croniter computes the next
// fires of many generated crontab lines (a fixed seed), and Drover must agree with each.
//
// Drover reads days as cronie does (schedule-cron.ts, cronMatchesDay): when either day field
// starts with `*` a day must match both, otherwise either. croniter's default ORs whenever
// neither field is `*`; with day_or=False it ANDs. So each case is asked with
// day_or = neither day field starts with `*`, which is cronie's rule spelled in croniter.
// Left out, because croniter differs from cronie there (not a Drover choice):
// - a day field naming every day without starting with `*` (`1-31`, `0-6`): croniter
//   collapses it to `*`; cronie keeps it restricted and ORs;
// - `n/step` (croniter: n-max/step; cronie's parser reads it differently) and L, #, ?, which
//   cronie does not have.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileSchedule, nextFire, validateSchedule } from '@drover/shared';

const PYTHON = process.env.DROVER_TEST_PYTHON ?? '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./support/croniter-fires.py', import.meta.url));
const FIRES = 5;

interface Case {
  expr: string;
  dayOr: boolean;
  after: number;
  count: number;
}

function croniter(cases: Case[]): Array<{ fires?: number[]; error?: string }> {
  const run = spawnSync(PYTHON, [SCRIPT], { input: JSON.stringify({ cases }), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.error || /No module named .?croniter/.test(run.stderr)) {
    throw new Error(
      `this test needs Debian's python3-croniter: apt-get install -y --no-install-recommends python3-croniter (or set DROVER_TEST_PYTHON to a python with croniter) (${run.error?.message ?? run.stderr.trim()})`,
    );
  }
  if (run.status !== 0) throw new Error(`croniter-fires.py failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as Array<{ fires?: number[]; error?: string }>;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** One list element on [min, max]: a value, a name, a range, a stepped range or star. */
function element(min: number, max: number, names: string[] = []): fc.Arbitrary<string> {
  const value = fc.integer({ min, max });
  const named = names.length > 0 ? [fc.constantFrom(...names)] : [];
  const range = fc.tuple(value, value).map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as const);
  const step = fc.integer({ min: 1, max: Math.max(2, Math.ceil((max - min) / 2)) });
  return fc.oneof(
    { arbitrary: value.map(String), weight: 4 },
    ...named.map((arbitrary) => ({ arbitrary, weight: 1 })),
    { arbitrary: range.map(([a, b]) => `${a}-${b}`), weight: 3 },
    { arbitrary: fc.tuple(range, step).map(([[a, b], s]) => `${a}-${b}/${s}`), weight: 1 },
    { arbitrary: step.map((s) => `*/${s}`), weight: 2 },
  );
}

// A field: `*` often, else a list of one to three elements that may overlap (`*/15,30`).
function field(min: number, max: number, names: string[] = [], star = 3): fc.Arbitrary<string> {
  const list = fc.array(element(min, max, names), { minLength: 1, maxLength: 3 }).map((parts) => parts.join(','));
  return fc.oneof({ arbitrary: fc.constant('*'), weight: star }, { arbitrary: list, weight: 4 });
}

const line = fc
  .tuple(field(0, 59, [], 1), field(0, 23, [], 2), field(1, 31, [], 4), field(1, 12, MONTHS, 5), field(0, 7, DAYS, 4))
  .map((fields) => fields.join(' '));

/** Leaves out what croniter reads unlike cronie (see the header); lines Drover refuses stay in. */
function comparable(expr: string): boolean {
  if (validateSchedule({ cron: expr }).length > 0) return true;
  const compiled = compileSchedule({ cron: expr });
  if (compiled.kind !== 'cron') return false;
  const [, , dom = '*', , dow = '*'] = expr.split(' ');
  const p = compiled.cron;
  const fullDom = p.daysOfMonth.size === 31 && !dom.startsWith('*');
  const fullDow = p.daysOfWeek.size === 7 && !dow.startsWith('*');
  return !fullDom && !fullDow;
}

describe("cron agrees with croniter (Debian python3-croniter) under cronie's day rule", { timeout: 120_000 }, () => {
  it('gives the same next fires for generated crontab lines, overlapping lists included', () => {
    const exprs = fc.sample(line, { seed: 15, numRuns: 1500 }).filter(comparable);
    const afters = fc.sample(fc.integer({ min: Date.UTC(2026, 0, 1) / 1000, max: Date.UTC(2027, 11, 31) / 1000 }), {
      seed: 16,
      numRuns: exprs.length,
    });
    const cases = exprs.map((expr, i) => {
      const [, , dom = '*', , dow = '*'] = expr.split(' ');
      return { expr, dayOr: !dom.startsWith('*') && !dow.startsWith('*'), after: afters[i] ?? 0, count: FIRES };
    });
    expect(cases.length).toBeGreaterThan(500);
    expect(cases.filter((c) => /,/.test(c.expr)).length).toBeGreaterThan(100);
    const theirs = croniter(cases);
    const disagreements: string[] = [];
    cases.forEach((c, i) => {
      const want = theirs[i];
      const refused = validateSchedule({ cron: c.expr })[0]?.message;
      if (refused !== undefined) {
        // A line no date matches (`0 0 31 2 *`) is refused on purpose; anything else croniter takes is ours to take.
        if (want?.fires && !/never fires/.test(refused))
          disagreements.push(`${c.expr}: croniter accepts it, Drover refuses it (${refused})`);
        return;
      }
      if (!want?.fires) {
        disagreements.push(`${c.expr}: Drover accepts it, croniter refuses it (${want?.error})`);
        return;
      }
      const schedule = compileSchedule({ cron: c.expr });
      const ours: number[] = [];
      let t = c.after * 1000;
      for (let n = 0; n < c.count; n++) {
        const next = nextFire(schedule, t);
        if (next === null) break;
        ours.push(next / 1000);
        t = next;
      }
      const iso = (xs: number[]) => xs.map((x) => new Date(x * 1000).toISOString()).join(' ');
      if (iso(ours) !== iso(want.fires))
        disagreements.push(`${c.expr} after ${new Date(c.after * 1000).toISOString()}: Drover ${iso(ours)}; croniter ${iso(want.fires)}`);
    });
    expect(disagreements).toEqual([]);
  });

  it('agrees on the crontab lines of the issue, a value named twice', () => {
    const after = Date.UTC(2026, 5, 1) / 1000;
    const exprs = ['0 0 * * 0,7', '*/15,30 * * * *', '0 9-17,12 * * *', '0 0 */2 * 1', '0 0 1,15 * 5'];
    const dayOr = (expr: string) => expr.split(' ').every((f, i) => (i !== 2 && i !== 4) || !f.startsWith('*'));
    const theirs = croniter(exprs.map((expr) => ({ expr, dayOr: dayOr(expr), after, count: 3 })));
    exprs.forEach((expr, i) => {
      const s = compileSchedule({ cron: expr });
      const ours = [nextFire(s, after * 1000)];
      for (let n = 1; n < 3; n++) ours.push(nextFire(s, ours[n - 1] ?? 0));
      expect(
        ours.map((t) => (t ?? 0) / 1000),
        expr,
      ).toEqual(theirs[i]?.fires);
    });
  });
});
