// Schedules in words, for previews: good for the common shapes ("at 02:00 every day",
// "every 15 minutes", "on weekdays"), and an honest field-by-field fallback for the rest.
import type { CronPattern } from './schedule-cron.js';

const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTH_NAMES = [
  '',
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

function list(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

function plural(n: number, unit: string): string {
  return n === 1 ? `every ${unit}` : `every ${n} ${unit}s`;
}

function ordinal(n: number): string {
  const suffix = n % 10 === 1 && n !== 11 ? 'st' : n % 10 === 2 && n !== 12 ? 'nd' : n % 10 === 3 && n !== 13 ? 'rd' : 'th';
  return `${n}${suffix}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** An interval in words: 90_000 → "every 90 seconds", 300_000 → "every 5 minutes". */
export function describeInterval(ms: number): string {
  if (ms % 86_400_000 === 0) return plural(ms / 86_400_000, 'day');
  if (ms % 3_600_000 === 0) return plural(ms / 3_600_000, 'hour');
  if (ms % 60_000 === 0) return plural(ms / 60_000, 'minute');
  if (ms % 1000 === 0) return plural(ms / 1000, 'second');
  return plural(ms, 'millisecond');
}

// The step of a field that is exactly "every d from its minimum", when d divides the range.
function stepOf(values: readonly number[], size: number): number | undefined {
  if (values.length < 2 || values[0] !== 0) return undefined;
  const d = (values[1] ?? 0) - (values[0] ?? 0);
  if (size % d !== 0 || values.length !== size / d) return undefined;
  return values.every((v, i) => v === i * d) ? d : undefined;
}

function contiguous(values: readonly number[]): boolean {
  return values.every((v, i) => i === 0 || v === (values[i - 1] ?? 0) + 1);
}

function describeTime(p: CronPattern): { text: string; atTimes: boolean } {
  const [S, M, H] = [p.seconds, p.minutes, p.hours];
  const [allS, allM, allH] = [S.length === 60, M.length === 60, H.length === 24];
  const s0 = S.length === 1 ? S[0] : undefined;
  const sStep = stepOf(S, 60);
  const mStep = stepOf(M, 60);
  const hStep = stepOf(H, 24);
  if (allH) {
    if (allM && allS) return { text: 'every second', atTimes: false };
    if (allM && s0 !== undefined) return { text: s0 === 0 ? 'every minute' : `at second ${s0} of every minute`, atTimes: false };
    if (allM && sStep) return { text: plural(sStep, 'second'), atTimes: false };
    if (s0 === 0 && mStep) return { text: plural(mStep, 'minute'), atTimes: false };
    if (s0 === 0 && M.length === 1) return { text: M[0] === 0 ? 'every hour' : `at minute ${M[0]} past every hour`, atTimes: false };
    if (s0 === 0 && M.length <= 4) return { text: `at minutes ${list(M.map(String))} past every hour`, atTimes: false };
  } else {
    if (s0 !== undefined && M.length * H.length <= 6) {
      const times = H.flatMap((h) => M.map((m) => `${pad(h)}:${pad(m)}${s0 === 0 ? '' : `:${pad(s0)}`}`));
      return { text: `at ${list(times)}`, atTimes: true };
    }
    if (s0 === 0 && M.length === 1 && hStep)
      return { text: `${plural(hStep, 'hour')}${M[0] === 0 ? '' : ` at minute ${M[0]}`}`, atTimes: false };
    if (s0 === 0 && (allM || mStep) && contiguous(H)) {
      const first = H[0] ?? 0;
      const last = H[H.length - 1] ?? 23;
      return { text: `${allM ? 'every minute' : plural(mStep ?? 1, 'minute')} from ${pad(first)}:00 to ${pad(last)}:59`, atTimes: false };
    }
  }
  const [sec, min, hour] = p.fields;
  const parts = [allS || s0 === 0 ? '' : `second ${sec}`, allM ? '' : `minute ${min}`, allH ? '' : `hour ${hour}`].filter(Boolean);
  return { text: `at ${parts.join(', ')}`, atTimes: true };
}

// By the sets, not the text: `*/2` starts with `*` yet leaves out every other day.
const everyWeekday = (p: CronPattern): boolean => p.daysOfWeek.size === 7 && p.nthWeekday <= 0 && p.lastWeekdaysOfMonth.size === 0;
const everyMonthDay = (p: CronPattern): boolean => p.daysOfMonth.size === 31 && !p.lastDayOfMonth;

function describeDays(p: CronPattern): string {
  const dom = (): string => {
    const days = [...p.daysOfMonth].sort((a, b) => a - b).map(String);
    if (p.lastDayOfMonth) days.push('the last day');
    if (days.length === 1 && p.lastDayOfMonth) return 'on the last day of the month';
    return `on ${days.length === 1 || (days.length === 2 && p.lastDayOfMonth) ? 'day' : 'days'} ${list(days)} of the month`;
  };
  const dow = (): string => {
    const days = [...p.daysOfWeek].sort((a, b) => a - b);
    const names = days.map((d) => DAY_NAMES[d] ?? String(d));
    const parts: string[] = [];
    if (p.nthWeekday > 0) parts.push(`on the ${ordinal(p.nthWeekday)} ${list(names)} of the month`);
    else if (days.join() === '1,2,3,4,5') parts.push('on weekdays');
    else if (days.join() === '0,6') parts.push('on weekends');
    else if (days.length > 0) parts.push(`on ${list(names)}`);
    const last = [...p.lastWeekdaysOfMonth].sort((a, b) => a - b).map((d) => DAY_NAMES[d] ?? String(d));
    if (last.length > 0) parts.push(`on the last ${list(last)} of the month`);
    return parts.join(' and ');
  };
  // Neither day field starts with `*`: cron runs on a day matching either (see cronMatchesDay).
  if (!p.anyDayOfMonth && !p.anyDayOfWeek) return `${dom()} or ${dow()}`;
  if (!everyMonthDay(p) && !everyWeekday(p)) return `${dow()}, when also ${dom()}`;
  if (!everyMonthDay(p)) return dom();
  if (!everyWeekday(p)) return dow();
  return '';
}

/** A cron pattern in words, with the zone when the zone changes when it fires. */
export function describeCron(pattern: CronPattern, zone: string): string {
  const time = describeTime(pattern);
  const days = describeDays(pattern);
  const months = pattern.months.map((on, m) => (on ? MONTH_NAMES[m] : undefined)).filter((m): m is string => m !== undefined);
  const inMonths = months.length === 12 ? '' : ` in ${list(months)}`;
  const yearly =
    months.length === 1 &&
    pattern.daysOfMonth.size === 1 &&
    !pattern.lastDayOfMonth &&
    !pattern.anyDayOfMonth &&
    pattern.anyDayOfWeek &&
    everyWeekday(pattern);
  const text = yearly
    ? `${time.text} on ${months[0]} ${[...pattern.daysOfMonth][0]}`
    : `${time.text}${days ? ` ${days}` : time.atTimes ? ' every day' : ''}${inMonths}`;
  // Offsets are multiples of 15 minutes, so a pattern repeating every 15 minutes of every
  // hour and day fires at the same instants in every zone.
  const minuteSet = new Set(pattern.minutes);
  const zoneFree = pattern.hours.length === 24 && !days && !inMonths && pattern.minutes.every((m) => minuteSet.has((m + 15) % 60));
  return zoneFree ? text : `${text} (${zone})`;
}
