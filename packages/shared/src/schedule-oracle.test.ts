// nextFire against a brute-force oracle that walks real time minute by minute (second by
// second where it matters), reads the wall clock, and fires whenever the wall clock passes
// a matching wall time for the first time. That one rule is Drover's DST promise: a time
// skipped by spring-forward fires once at the first instant after the gap, a time repeated
// by fall-back fires once at its first occurrence.
//
// The oracle shares no code with the implementation: it reads offsets from Intl's
// "longOffset" names (the implementation uses formatToParts), and matches wall times with
// cron-parser's own field sets and its includesDate in UTC, where there is no DST. Days follow
// cronie, not cron-parser: when a day field starts with `*` (`*/2` too) a day must match both
// fields, which the oracle asks cron-parser one field at a time (cronieIncludesDay).
import { CronExpressionParser } from 'cron-parser';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cronMatchesDay, parseCron } from './schedule-cron.js';
import { compileSchedule, nextFire } from './schedule.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const ZONES = ['America/Chicago', 'Europe/Rome', 'Australia/Lord_Howe', 'Asia/Kolkata', 'UTC'] as const;
const TABLE_FROM = Date.UTC(2025, 6, 1);
const TABLE_TO = Date.UTC(2027, 6, 1);

function intlOffset(ms: number, zone: string): number {
  const name =
    new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' })
      .formatToParts(ms)
      .find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
  if (!m) return 0;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) * MINUTE;
}

interface ZoneTable {
  /** Instants where an offset starts, ascending; the first is TABLE_FROM. */
  starts: number[];
  offsets: number[];
}

function buildTable(zone: string): ZoneTable {
  const table: ZoneTable = { starts: [TABLE_FROM], offsets: [intlOffset(TABLE_FROM, zone)] };
  for (let t = TABLE_FROM + HOUR; t <= TABLE_TO; t += HOUR) {
    const off = intlOffset(t, zone);
    if (off === table.offsets[table.offsets.length - 1]) continue;
    let [lo, hi] = [t - HOUR, t];
    while (hi - lo > 1000) {
      const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
      if (intlOffset(mid, zone) === off) hi = mid;
      else lo = mid;
    }
    table.starts.push(hi);
    table.offsets.push(off);
  }
  return table;
}

const TABLES = new Map(ZONES.map((z) => [z, buildTable(z)]));

function offsetIn(table: ZoneTable, t: number): number {
  for (let i = table.starts.length - 1; i >= 0; i--) if (t >= (table.starts[i] ?? 0)) return table.offsets[i] ?? 0;
  throw new Error('instant before the oracle table');
}

/**
 * Whether cronie runs on a day (cron.c: if DOM_STAR or DOW_STAR, dom AND dow, else dom OR
 * dow; the flags come from the field's first character). cron-parser ORs whenever neither
 * field is exactly `*`, so the AND case asks it about each day field on its own.
 */
function cronieDays(dom: string, mon: string, dow: string): (d: Date) => boolean {
  const both = CronExpressionParser.parse(`0 0 0 ${dom} ${mon} ${dow}`, { tz: 'UTC' });
  if (!dom.startsWith('*') && !dow.startsWith('*')) return (d) => both.includesDate(d);
  const domOnly = CronExpressionParser.parse(`0 0 0 ${dom} ${mon} *`, { tz: 'UTC' });
  const dowOnly = CronExpressionParser.parse(`0 0 0 * ${mon} ${dow}`, { tz: 'UTC' });
  return (d) => domOnly.includesDate(d) && dowOnly.includesDate(d);
}

/** The first fire after `after` by simulating the wall clock from 4h before (longer than any repeat). */
function oracleNext(expression: string, zone: string, after: number, horizon: number): number | null {
  const six = expression.split(' ').length === 5 ? `0 ${expression}` : expression;
  const [, , , dom, mon, dow] = six.split(' ');
  const fields = CronExpressionParser.parse(six, { tz: 'UTC' }).fields;
  const dayOnly = cronieDays(dom ?? '*', mon ?? '*', dow ?? '*');
  const secs = new Set<number>(fields.second.values as number[]);
  const mins = new Set<number>(fields.minute.values as number[]);
  const hours = new Set<number>(fields.hour.values as number[]);
  const days = new Map<number, boolean>();
  const dayMatches = (d: Date): boolean => {
    const key = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
    let v = days.get(key);
    if (v === undefined) days.set(key, (v = dayOnly(new Date(key))));
    return v;
  };
  const minuteMatches = (wall: number) => {
    const d = new Date(wall);
    return mins.has(d.getUTCMinutes()) && hours.has(d.getUTCHours()) && dayMatches(d);
  };
  const matches = (wall: number) => secs.has(new Date(wall).getUTCSeconds()) && minuteMatches(wall);

  const table = TABLES.get(zone as (typeof ZONES)[number]);
  if (!table) throw new Error(`no oracle table for ${zone}`);
  let m = Math.floor((after - 4 * HOUR) / MINUTE) * MINUTE;
  let seen = m + offsetIn(table, m) - 1000;
  for (; m <= after + horizon; m += MINUTE) {
    const w0 = m + offsetIn(table, m);
    if (w0 + 59_000 <= seen) continue;
    if (w0 === seen + 1000 && !minuteMatches(w0)) {
      seen = w0 + 59_000;
      continue;
    }
    for (let s = 0; s < 60; s++) {
      const wall = w0 + s * 1000;
      if (wall <= seen) continue;
      let fires = false;
      for (let w = seen + 1000; w <= wall && !fires; w += 1000) fires = matches(w);
      seen = wall;
      if (fires && m + s * 1000 > after) return m + s * 1000;
    }
  }
  return null;
}

function weighted(common: string, commonWeight: number, others: string[]): fc.Arbitrary<string> {
  return fc.oneof({ arbitrary: fc.constant(common), weight: commonWeight }, { arbitrary: fc.constantFrom(...others), weight: 1 });
}

const secondField = fc.constantFrom('0', '30', '*/15', '0,30', '*/20', '5-10', '*', '59');
const minuteField = fc.oneof(
  fc.constantFrom('*', '0', '30', '15', '45', '*/15', '*/5', '*/7', '0,30', '5-10', '59'),
  fc.integer({ min: 0, max: 59 }).map(String),
);
const hourField = fc.oneof(
  fc.constantFrom('*', '0', '1', '2', '3', '23', '1-3', '*/2', '2,3', '0-4/2', '1,2'),
  fc.integer({ min: 0, max: 23 }).map(String),
);
const domField = weighted('*', 6, ['1', '15', 'L', '1-7', '28-31', '29', '*/2', '4,25']);
const monthField = weighted('*', 6, ['3', '10', '11', '4', '3,10', '*/2', '3-4,10-11']);
const dowField = weighted('*', 5, ['0', '1-5', '6', '0,6', '5L', '0L', '0#1', '0#5', '1#2', '6#4']);

const expression = fc
  .tuple(fc.option(secondField, { freq: 3 }), minuteField, hourField, domField, monthField, dowField)
  .map(([s, ...rest]) => (s === null ? rest : [s, ...rest]).join(' '));

function transitionsIn2026(zone: string): number[] {
  return (TABLES.get(zone as (typeof ZONES)[number])?.starts ?? []).filter((t) => t >= Date.UTC(2026, 0, 1) && t < Date.UTC(2027, 0, 1));
}

const start = (zone: string): fc.Arbitrary<number> => {
  const transitions = transitionsIn2026(zone);
  const anywhere = fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2026, 11, 31) });
  if (transitions.length === 0) return anywhere;
  const near = fc
    .tuple(fc.constantFrom(...transitions), fc.integer({ min: -30 * HOUR, max: 8 * HOUR }), fc.constantFrom(0, 0, 0, 1, 999, 30_000))
    .map(([t, delta, ms]) => Math.floor((t + delta) / 1000) * 1000 + ms);
  return fc.oneof({ arbitrary: near, weight: 4 }, { arbitrary: anywhere, weight: 1 });
};

const triple = fc.constantFrom(...ZONES).chain((zone) => fc.tuple(expression, fc.constant(zone), start(zone)));

// The oracle walks real time minute by minute: thousands of cases take seconds, more on a busy
// CI machine, so these tests get a generous timeout (a timeout is not a finding).
describe('nextFire agrees with a brute-force wall-clock oracle', { timeout: 120_000 }, () => {
  it('has an oracle that sees each 2026 DST transition at a whole minute', () => {
    expect(transitionsIn2026('America/Chicago').map((t) => new Date(t).toISOString())).toEqual([
      '2026-03-08T08:00:00.000Z',
      '2026-11-01T07:00:00.000Z',
    ]);
    expect(transitionsIn2026('Europe/Rome').map((t) => new Date(t).toISOString())).toEqual([
      '2026-03-29T01:00:00.000Z',
      '2026-10-25T01:00:00.000Z',
    ]);
    expect(transitionsIn2026('Australia/Lord_Howe')).toHaveLength(2);
    expect(transitionsIn2026('Asia/Kolkata')).toEqual([]);
    for (const z of ZONES) for (const t of TABLES.get(z)?.starts ?? []) expect(t % MINUTE).toBe(0);
  });

  it('for random expressions, zones and starts around 2026 DST transitions', () => {
    const horizon = 50 * HOUR;
    fc.assert(
      fc.property(triple, ([expr, zone, after]) => {
        const got = nextFire(compileSchedule({ cron: expr, timezone: zone }), after);
        const want = oracleNext(expr, zone, after, horizon);
        if (want === null)
          expect(got === null || got > after + horizon, `${expr} in ${zone} after ${new Date(after).toISOString()}`).toBe(true);
        else
          expect(got === null ? null : new Date(got).toISOString(), `${expr} in ${zone} after ${new Date(after).toISOString()}`).toBe(
            new Date(want).toISOString(),
          );
      }),
      { numRuns: 2500 },
    );
  });

  it("matches days as cronie does, with cron-parser's L and # (the day-of-month/day-of-week rule)", () => {
    fc.assert(
      fc.property(
        domField,
        monthField,
        dowField,
        fc.integer({ min: Date.UTC(2020, 0, 1) / 86_400_000, max: Date.UTC(2032, 0, 1) / 86_400_000 }),
        (dom, mon, dow, dayNumber) => {
          const expr = `0 0 ${dom} ${mon} ${dow}`;
          const parsed = parseCron(expr);
          if (!parsed.ok) throw new Error(parsed.message);
          const d = new Date(dayNumber * 86_400_000);
          const theirs = cronieDays(dom, mon, dow)(d);
          expect(cronMatchesDay(parsed.pattern, d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate())).toBe(theirs);
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('agrees with cron-parser in UTC, where there is no DST to disagree about', () => {
    // Except where cron-parser ORs days that cronie ANDs: a day field like */2 with the other restricted.
    const sameDayRule = (expr: string): boolean => {
      const [dom = '*', , dow = '*'] = expr.split(' ').slice(-3);
      return !((dom.startsWith('*') && dom !== '*' && dow !== '*') || (dow.startsWith('*') && dow !== '*' && dom !== '*'));
    };
    fc.assert(
      fc.property(expression.filter(sameDayRule), fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2026, 11, 31) }), (expr, after) => {
        const ours = nextFire(compileSchedule({ cron: expr }), after);
        const theirs = CronExpressionParser.parse(expr, { tz: 'UTC', currentDate: new Date(after) })
          .next()
          .getTime();
        expect(ours).toBe(theirs);
      }),
      { numRuns: 600 },
    );
  });
});
