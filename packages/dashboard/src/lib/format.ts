// Human-readable numbers and times for tables.

/** "1.5 GiB", "512 MiB", "12 KiB", "900 B". */
export function bytes(size: number | null | undefined): string {
  if (size === null || size === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = size;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 10 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

/** "850 ms", "12.3 s", "4 m 05 s", "2 h 10 m". */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} m ${String(s % 60).padStart(2, '0')} s`;
  const m = Math.round(s / 60);
  if (m < 48 * 60) return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} m`;
  return `${Math.round(m / 60 / 24)} d`;
}

/** "5 s ago", "in 3 m", from an ISO instant relative to now. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '–';
  const diff = Date.parse(iso) - now;
  const abs = Math.abs(diff);
  const text =
    abs < 1500
      ? 'now'
      : abs < 60_000
        ? `${Math.round(abs / 1000)} s`
        : abs < 3_600_000
          ? `${Math.round(abs / 60_000)} m`
          : abs < 172_800_000
            ? `${Math.round(abs / 3_600_000)} h`
            : `${Math.round(abs / 86_400_000)} d`;
  if (text === 'now') return 'just now';
  return diff < 0 ? `${text} ago` : `in ${text}`;
}

// Every absolute time in the dashboard is drawn by `when` (or `clock`, its time of day): one
// form, in the reader's zone, and the zone is always named.
const WHEN = new Intl.DateTimeFormat('en-CA', {
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
  timeZoneName: 'short',
});
const CLOCK = new Intl.DateTimeFormat('en-GB', {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  fractionalSecondDigits: 3,
  hourCycle: 'h23',
});

/** "2026-12-07 05:25:13 GMT+1": a date and time to the second in the reader's zone, the zone named. */
export function when(iso: string | null | undefined): string {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const part = Object.fromEntries(WHEN.formatToParts(d).map((p) => [p.type, p.value]));
  return `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}:${part.second} ${part.timeZoneName}`;
}

/** "05:25:13.042": the time of day of an instant in the reader's zone (the zone `when` names), for log lines. */
export function clock(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : CLOCK.format(d);
}

/** The time between two instants, or from one until now when the second is missing. */
export function between(from: string | null | undefined, to: string | null | undefined, now = Date.now()): number | null {
  if (!from) return null;
  return (to ? Date.parse(to) : now) - Date.parse(from);
}

/** "12.5%" for 0.125. */
export function percent(share: number | null | undefined, digits = 0): string {
  if (share === null || share === undefined) return '–';
  return `${(share * 100).toFixed(digits)}%`;
}

/** The first characters of a ULID are its time; the last ones tell runs of one batch apart. */
export function shortId(id: string): string {
  return id.length > 12 ? `${id.slice(0, 4)}…${id.slice(-6)}` : id;
}

/** "2026-12-01 02:30" from the API's zoned ISO form ("2026-12-01T02:30:00+01:00"), seconds kept when not :00. */
export function wallClock(local: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2})?/.exec(local);
  if (!m) return local;
  return `${m[1]} ${m[2]}${m[3] && m[3] !== ':00' ? m[3] : ''}`;
}
