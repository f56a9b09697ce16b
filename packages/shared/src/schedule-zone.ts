// Wall-clock arithmetic in IANA time zones from Intl alone: a zone's offset at an instant,
// the instant a wall-clock time fires at under Drover's DST rules, and local formatting.
//
// A "wall time" is a local date and time encoded as the epoch milliseconds those same
// fields would have in UTC, so that plain arithmetic and the getUTC* accessors work on it.

const SECOND = 1000;
const HOUR = 3_600_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

// Building an Intl.DateTimeFormat costs tens of microseconds; a scheduler compiling thousands
// of schedules asks about the same few zones over and over.
const canonicalNames = new Map<string, string | undefined>();

/** The canonical name of a time zone this runtime knows ("europe/rome" → "Europe/Rome"), or undefined. */
export function canonicalTimeZone(zone: string): string | undefined {
  // Intl also takes fixed offsets ("+02:00"); schedules name IANA zones so DST rules apply.
  if (zone.length === 0 || zone.length > 64 || /^[+-]/.test(zone)) return undefined;
  if (canonicalNames.has(zone)) return canonicalNames.get(zone);
  let name: string | undefined;
  try {
    name = new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    name = undefined;
  }
  if (canonicalNames.size < 1000) canonicalNames.set(zone, name);
  return name;
}

/** Epoch ms of the given calendar fields read as UTC; unlike Date.UTC, years 0–99 mean themselves. */
export function utcFields(year: number, month: number, day: number, hour = 0, minute = 0, second = 0): number {
  const t = Date.UTC(year, month - 1, day, hour, minute, second);
  if (year < 0 || year > 99) return t;
  const d = new Date(t);
  d.setUTCFullYear(d.getUTCFullYear() - 1900);
  return d.getTime();
}

/** The zone's offset from UTC at instant `ms`, in milliseconds (positive east of Greenwich). */
export function zoneOffsetAt(ms: number, zone: string): number {
  if (zone === 'UTC') return 0;
  const whole = Math.floor(ms / SECOND) * SECOND;
  const parts: Record<string, string> = {};
  for (const p of formatterFor(zone).formatToParts(whole)) parts[p.type] = p.value;
  const year = parts.era === 'BC' || parts.era === 'B' ? 1 - Number(parts.year) : Number(parts.year);
  const wall = utcFields(year, Number(parts.month), Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
  return wall - whole;
}

/** The wall-clock reading in `zone` at instant `ms`. */
export function wallClockAt(ms: number, zone: string): number {
  return ms + zoneOffsetAt(ms, zone);
}

/** The first whole second in (lo, hi] whose offset differs from the offset at lo; hi must differ. */
function transitionBetween(lo: number, hi: number, zone: string): number {
  const before = zoneOffsetAt(lo, zone);
  let a = Math.floor(lo / SECOND);
  let b = Math.floor(hi / SECOND);
  while (b - a > 1) {
    const mid = Math.floor((a + b) / 2);
    if (zoneOffsetAt(mid * SECOND, zone) === before) a = mid;
    else b = mid;
  }
  return b * SECOND;
}

// Zone transitions in the tz database are months apart; a window of this size around an
// instant holds at most one, and is wider than any offset (±14h) or DST shift (≤2h).
const WINDOW = 16 * HOUR;

/**
 * The instant a wall-clock time fires at: the first instant at which the wall clock reads
 * `wall` or later. A time that occurs twice (fall-back) resolves to its first occurrence;
 * a time skipped by a spring-forward gap resolves to the first instant after the gap.
 */
export function instantOfWallTime(wall: number, zone: string): number {
  if (zone === 'UTC') return wall;
  const earlyOffset = zoneOffsetAt(wall - WINDOW, zone);
  const lateOffset = zoneOffsetAt(wall + WINDOW, zone);
  const early = wall - earlyOffset;
  if (earlyOffset === lateOffset) return early;
  const late = wall - lateOffset;
  const earlyValid = zoneOffsetAt(early, zone) === earlyOffset;
  const lateValid = zoneOffsetAt(late, zone) === lateOffset;
  if (earlyValid && lateValid) return Math.min(early, late);
  if (earlyValid) return early;
  if (lateValid) return late;
  // In the gap: the clock jumps from before `wall` to after it at the transition.
  return transitionBetween(late, early, zone);
}

/**
 * The latest wall-clock reading at any instant up to and including `ms`. It is ahead of the
 * current reading only during a fall-back repeat, whose wall times have already been seen.
 */
export function maxWallClockUpTo(ms: number, zone: string): number {
  const now = wallClockAt(ms, zone);
  if (zone === 'UTC') return now;
  const earlier = ms - WINDOW;
  if (zoneOffsetAt(earlier, zone) <= zoneOffsetAt(ms, zone)) return now;
  const transition = transitionBetween(earlier, ms, zone);
  return Math.max(now, wallClockAt(transition - 1, zone));
}

function pad(n: number, width = 2): string {
  return String(Math.abs(n)).padStart(width, '0');
}

/** An offset as ISO 8601 writes it: "+02:00", "-05:00", "+05:45" (seconds only when present). */
export function formatOffset(offsetMs: number): string {
  const sign = offsetMs < 0 ? '-' : '+';
  const total = Math.abs(Math.round(offsetMs / SECOND));
  const s = total % 60;
  const text = `${sign}${pad(Math.floor(total / 3600))}:${pad(Math.floor(total / 60) % 60)}`;
  return s === 0 ? text : `${text}:${pad(s)}`;
}

/** An instant as local time in `zone` with its offset, e.g. "2026-03-29T03:00:00+02:00" ("Z" in UTC). */
export function formatInZone(ms: number, zone: string): string {
  const offset = zoneOffsetAt(ms, zone);
  const d = new Date(ms + offset);
  const year = d.getUTCFullYear();
  const y = year >= 0 && year <= 9999 ? pad(year, 4) : `${year < 0 ? '-' : '+'}${pad(year, 6)}`;
  const frac = d.getUTCMilliseconds() === 0 ? '' : `.${pad(d.getUTCMilliseconds(), 3)}`;
  const local = `${y}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${frac}`;
  return `${local}${zone === 'UTC' ? 'Z' : formatOffset(offset)}`;
}
