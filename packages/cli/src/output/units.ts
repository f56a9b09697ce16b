// How times, durations and sizes read in the client verbs' tables.

/** "3s ago", "5m ago", "in 10m": coarse on purpose, a table is scanned, not read. */
export function relativeTime(iso: string | null | undefined, now: number): string {
  if (!iso) return '-';
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  const ms = now - at;
  if (Math.abs(ms) < 1000) return 'just now';
  // Whole seconds: "4.2s ago" is precision nobody reads in a list.
  const span = Math.abs(ms) < 60_000 ? `${Math.round(Math.abs(ms) / 1000)}s` : humanDuration(Math.abs(ms));
  return ms >= 0 ? `${span} ago` : `in ${span}`;
}

/** 850ms, 4.2s, 3m12s, 2h05m, 3d4h: two units at most. */
export function humanDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 10) return `${s.toFixed(1)}s`;
  if (s < 60) return `${Math.floor(s)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${h % 24}h`;
}

/**
 * 512B, 1.5KiB, 256MiB, 7.8GiB.
 *
 * Not @drover/shared's formatBytes on purpose: that one writes sizes for job definitions, so it
 * keeps a decimal whenever the amount is not whole ("256.3MiB", "1.0KiB" for 1025 bytes) and a
 * whole number it shows parses back to exactly those bytes. A table column wants two or three
 * digits at a glance, so this one rounds ("256MiB", "1KiB") and shows "-" for a missing value.
 */
export function humanBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v}B` : `${v < 10 ? v.toFixed(1).replace(/\.0$/, '') : Math.round(v)}${units[i]}`;
}

/** An ISO instant with its relative reading: "2026-11-30T18:00:00.000Z (5m ago)". */
export function instant(iso: string | null | undefined, now: number): string | undefined {
  return iso ? `${iso} (${relativeTime(iso, now)})` : undefined;
}
