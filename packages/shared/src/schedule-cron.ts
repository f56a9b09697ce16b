// Cron expressions as wall-clock patterns. cron-parser parses and validates the text (and
// owns the meaning of L and #); matching and searching happen here, on wall times with no
// time zone, so DST is handled in exactly one place (schedule-zone.ts).
import { CronExpressionParser } from 'cron-parser';
import { utcFields } from './schedule-zone.js';

/** Longest cron expression accepted; longer text is refused before it reaches the parser. */
export const MAX_CRON_LENGTH = 256;

/** Macros and the five-field expressions they stand for. */
export const CRON_MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
  '@weekdays': '0 0 * * 1-5',
  '@weekends': '0 0 * * 0,6',
  '@minutely': '* * * * *',
  '@secondly': '* * * * * *',
};

const FIELD_NAMES = ['second', 'minute', 'hour', 'day of month', 'month', 'day of week'] as const;
const BASELINE = ['0', '0', '0', '*', '*', '*'];

/** A parsed cron expression: the wall-clock seconds, minutes, hours and days it matches. */
export interface CronPattern {
  /** The expression as written, trimmed. */
  readonly source: string;
  /** The six fields (seconds first) after macro expansion. */
  readonly fields: readonly string[];
  readonly seconds: readonly number[];
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  /** Indexed by month 1–12. */
  readonly months: readonly boolean[];
  /** The day-of-month field starts with `*` (or is `?`): cronie's DOM_STAR, see cronMatchesDay. */
  readonly anyDayOfMonth: boolean;
  readonly daysOfMonth: ReadonlySet<number>;
  readonly lastDayOfMonth: boolean;
  /** The day-of-week field starts with `*` (or is `?`): cronie's DOW_STAR. */
  readonly anyDayOfWeek: boolean;
  /** 0 = Sunday. */
  readonly daysOfWeek: ReadonlySet<number>;
  /** Weekdays given as `5L`: the last such weekday of the month. */
  readonly lastWeekdaysOfMonth: ReadonlySet<number>;
  /** From `1#2`: the occurrence within the month (1–5), or 0 when not given. */
  readonly nthWeekday: number;
}

export type CronParseResult = { ok: true; pattern: CronPattern } | { ok: false; message: string };

function numbers(values: ReadonlyArray<number | string>): number[] {
  return values.filter((v): v is number => typeof v === 'number').sort((a, b) => a - b);
}

// Turns cron-parser's messages into ones that name the field and say what to write instead.
function readable(message: string, field: string, value: string): string {
  let m: RegExpExecArray | null;
  if ((m = /got value (\S+) expected range (\d+-\d+)/.exec(message))) return `${field} ${m[1]} is out of range ${m[2]}`;
  if (/cannot repeat at every 0|Invalid step: -?0/.test(message)) return `${field} "${value}": a step must be at least 1 (e.g. */5), not 0`;
  if ((m = /Invalid range: (\S+), min\(\d+\) > max/.exec(message)))
    return `${field} range ${m[1]} runs backwards; write the smaller value first`;
  if (/occurrence number/.test(message)) return `${field} "${value}": the occurrence after # must be 1 to 5`;
  if (/incompatible/.test(message)) return `${field} "${value}": # cannot be combined with a list`;
  if (/standalone L/.test(message)) return `${field} "L" needs a weekday before it, e.g. 5L for the last Friday of the month`;
  if ((m = /got range (\d+-\d+) expected range (\d+-\d+)/.exec(message))) return `${field} range ${m[1]} is outside ${m[2]}`;
  return `${field} "${value}" is not a value, range (1-5), list (1,15), step (*/5) or name (MON, JAN) that cron understands`;
}

function checkField(i: number, value: string): string | undefined {
  const field = FIELD_NAMES[i] ?? 'field';
  // `H` would need a per-job seed for every coordinator to agree; names like THU contain it.
  if (/(?<![A-Z])H(?![A-Z])/i.test(value)) return `${field} "${value}": H (hashed) values are not supported`;
  if (/\dW|(?<![A-Z])LW(?![A-Z])/i.test(value)) return `${field} "${value}": W (nearest weekday) is not supported`;
  const probe = [...BASELINE];
  probe[i] = value;
  try {
    CronExpressionParser.parse(probe.join(' '), { tz: 'UTC' });
    return undefined;
  } catch (err) {
    return readable(err instanceof Error ? err.message : String(err), field, value);
  }
}

// The values one field's text stands for, as cron-parser reads it in position i; undefined if it refuses it.
function fieldValues(i: number, value: string): Array<number | string> | undefined {
  const probe = [...BASELINE];
  probe[i] = value;
  try {
    const f = CronExpressionParser.parse(probe.join(' '), { tz: 'UTC' }).fields;
    const values = [f.second, f.minute, f.hour, f.dayOfMonth, f.month, f.dayOfWeek][i]?.values ?? [];
    // Day of week: 7 is Sunday, as 0 is.
    return i === 5 ? values.map((v) => (v === 7 ? 0 : v)) : [...values];
  } catch {
    return undefined;
  }
}

// cron-parser refuses a list whose parts overlap (`0,7`, `*/15,30`, `9-17,12`); cronie, like
// every crontab, takes the union. Such a list is rewritten as the union it stands for; the
// text of the day fields as written still decides the day rule (cronMatchesDay).
function unionOfList(i: number, value: string): string {
  if (!value.includes(',')) return value;
  const seen = new Set<number | string>();
  let total = 0;
  for (const part of value.split(',')) {
    const values = fieldValues(i, part);
    if (!values) return value; // checkField names the part that is wrong
    for (const v of values) seen.add(v);
    total += values.length;
  }
  if (seen.size === total) return value;
  const numbers = [...seen].filter((v): v is number => typeof v === 'number').sort((a, b) => a - b);
  return [...numbers, ...[...seen].filter((v) => typeof v === 'string')].join(',');
}

/** Parses a 5- or 6-field cron expression or macro; a failure says which field is wrong and why. */
export function parseCron(expression: string): CronParseResult {
  const source = expression.trim();
  if (expression.length > MAX_CRON_LENGTH)
    return { ok: false, message: `is ${expression.length} characters long; at most ${MAX_CRON_LENGTH} are accepted` };
  if (source === '') return { ok: false, message: 'is empty; write e.g. "0 2 * * *" (02:00 every day) or "@hourly"' };
  let text = source;
  if (source.startsWith('@')) {
    const expanded = CRON_MACROS[source.toLowerCase()];
    if (!expanded) return { ok: false, message: `unknown macro "${source}"; expected one of: ${Object.keys(CRON_MACROS).join(', ')}` };
    text = expanded;
  }
  const parts = text.split(/\s+/);
  if (parts.length !== 5 && parts.length !== 6) {
    return {
      ok: false,
      message: `has ${parts.length} field${parts.length === 1 ? '' : 's'}; expected 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)`,
    };
  }
  const fields = parts.length === 5 ? ['0', ...parts] : parts;
  const union = fields.map((f, i) => unionOfList(i, f));
  for (let i = 0; i < union.length; i++) {
    const problem = checkField(i, union[i] ?? '');
    if (problem) return { ok: false, message: problem };
  }
  let parsed;
  try {
    parsed = CronExpressionParser.parse(union.join(' '), { tz: 'UTC' }).fields;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/day of month/i.test(message)) return { ok: false, message: 'never fires: none of its months has that day of month' };
    return { ok: false, message: message.replace(/^(Constraint|Validation) error, /, '') };
  }
  const months = Array.from({ length: 13 }, () => false);
  for (const m of numbers(parsed.month.values)) months[m] = true;
  const pattern: CronPattern = {
    source,
    fields,
    seconds: numbers(parsed.second.values),
    minutes: numbers(parsed.minute.values),
    hours: numbers(parsed.hour.values),
    months,
    anyDayOfMonth: startsWithStar(fields[3]),
    daysOfMonth: new Set(numbers(parsed.dayOfMonth.values)),
    lastDayOfMonth: parsed.dayOfMonth.hasLastChar,
    anyDayOfWeek: startsWithStar(fields[5]),
    daysOfWeek: new Set(numbers(parsed.dayOfWeek.values).map((d) => d % 7)),
    lastWeekdaysOfMonth: new Set(
      parsed.dayOfWeek.values.filter((v) => typeof v === 'string' && /^\dL$/.test(v)).map((v) => Number(String(v).charAt(0)) % 7),
    ),
    nthWeekday: parsed.dayOfWeek.nthDay,
  };
  if (!firesEver(pattern)) return { ok: false, message: 'never fires: no date matches its day-of-month, month and day-of-week fields' };
  return { ok: true, pattern };
}

// cronie's entry.c sets DOM_STAR/DOW_STAR when the field's first character is `*`, before
// parsing it: `*`, `*/2` and `*,5` all count. `?` (cron-parser's "no specific value") is `*`.
function startsWithStar(field: string | undefined): boolean {
  return field !== undefined && (field.startsWith('*') || field === '?');
}

/** Days in a month (1–12) of a year. */
export function daysInMonth(year: number, month: number): number {
  if (month !== 2) return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
}

/**
 * Whether a calendar day matches the day fields, by cronie's rule (cron.c, find_jobs): when
 * either day field starts with `*` (`*`, `*\/2`, `*,5`), a day must match both fields; when
 * neither does, matching either is enough. So `0 0 1,15 * 5` fires on the 1st, the 15th and
 * every Friday, while `0 0 *\/2 * 5` fires only on Fridays with an odd date. cron-parser
 * calls `*\/2` restricted and would OR it; Drover follows cronie.
 */
export function cronMatchesDay(pattern: CronPattern, year: number, month: number, day: number): boolean {
  if (!pattern.months[month]) return false;
  const last = daysInMonth(year, month);
  if (day < 1 || day > last) return false;
  const weekday = new Date(utcFields(year, month, day)).getUTCDay();
  const domMatch = pattern.daysOfMonth.has(day) || (pattern.lastDayOfMonth && day === last);
  const dowMatch =
    (pattern.daysOfWeek.has(weekday) && (pattern.nthWeekday <= 0 || Math.ceil(day / 7) === pattern.nthWeekday)) ||
    (pattern.lastWeekdaysOfMonth.has(weekday) && day + 7 > last);
  return pattern.anyDayOfMonth || pattern.anyDayOfWeek ? domMatch && dowMatch : domMatch || dowMatch;
}

/** Whether any date matches; the Gregorian weekday cycle repeats every 28 years from 1901 to 2099. */
function firesEver(p: CronPattern): boolean {
  for (let year = 2001; year <= 2028; year++) {
    for (let month = 1; month <= 12; month++) {
      if (!p.months[month]) continue;
      const last = daysInMonth(year, month);
      for (let day = 1; day <= last; day++) if (cronMatchesDay(p, year, month, day)) return true;
    }
  }
  return false;
}

function firstAtOrAfter(values: readonly number[], v: number): number | undefined {
  for (const x of values) if (x >= v) return x;
  return undefined;
}

// The earliest matching time of day at or after h:m:s, as [h, m, s], or undefined.
function timeOfDayAtOrAfter(p: CronPattern, h: number, m: number, s: number): [number, number, number] | undefined {
  const [m0, s0] = [p.minutes[0] ?? 0, p.seconds[0] ?? 0];
  for (const hh of p.hours) {
    if (hh < h) continue;
    if (hh > h) return [hh, m0, s0];
    for (const mm of p.minutes) {
      if (mm < m) continue;
      if (mm > m) return [hh, mm, s0];
      const ss = firstAtOrAfter(p.seconds, s);
      if (ss !== undefined) return [hh, mm, ss];
    }
  }
  return undefined;
}

/** How far ahead a search for the next matching wall time looks: longer than one 28-year cycle. */
export const SEARCH_YEARS = 30;

/** The first wall time strictly after `wall` that the pattern matches, or null within SEARCH_YEARS. */
export function nextMatchingWallTime(pattern: CronPattern, wall: number): number | null {
  const start = new Date(Math.floor(wall / 1000) * 1000 + 1000);
  let year = start.getUTCFullYear();
  let month = start.getUTCMonth() + 1;
  let day = start.getUTCDate();
  let [h, m, s] = [start.getUTCHours(), start.getUTCMinutes(), start.getUTCSeconds()];
  const endYear = year + SEARCH_YEARS;
  while (year <= endYear) {
    if (!pattern.months[month] || day > daysInMonth(year, month)) {
      month += 1;
      if (month > 12) [year, month] = [year + 1, 1];
      [day, h, m, s] = [1, 0, 0, 0];
      continue;
    }
    if (cronMatchesDay(pattern, year, month, day)) {
      const t = timeOfDayAtOrAfter(pattern, h, m, s);
      if (t) return utcFields(year, month, day, t[0], t[1], t[2]);
    }
    [day, h, m, s] = [day + 1, 0, 0, 0];
  }
  return null;
}
