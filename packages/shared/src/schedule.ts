// When a job fires: a cron expression matched against wall-clock time in a time zone, a
// fixed interval, or one instant. One validator serves the API, the CLI and tests; the
// compiled form answers "when is the next fire after t?" with the clock passed in.
//
// DST, as promised to users: a cron wall time that a spring-forward gap skips fires once,
// at the first instant after the gap (several skipped times that land there fire once); a
// wall time that a fall-back repeats fires once, at its first occurrence. `every` intervals
// are absolute time, aligned to multiples of the interval since the Unix epoch.
import { Type, type Static } from '@sinclair/typebox';
import { ValidationError, type FieldError } from './errors.js';
import { MAX_CRON_LENGTH, nextMatchingWallTime, parseCron, type CronPattern } from './schedule-cron.js';
import { CATCH_UP_POLICIES, OVERLAP_POLICIES, type CatchUpPolicy, type OverlapPolicy } from './schedule-policy.js';
import { describeCron, describeInterval } from './schedule-describe.js';
import { canonicalTimeZone, formatInZone, instantOfWallTime, maxWallClockUpTo, utcFields } from './schedule-zone.js';
import { parseDuration } from './units.js';

export { MAX_CRON_LENGTH, CRON_MACROS, type CronPattern } from './schedule-cron.js';
export * from './schedule-policy.js';
export { formatInZone } from './schedule-zone.js';

export const MIN_EVERY_MS = 1000;
export const MAX_EVERY_MS = 366 * 86_400_000;
export const MAX_CATCH_UP_WINDOW_MS = 366 * 86_400_000;
export const DEFAULT_TIMEZONE = 'UTC';
export const DEFAULT_CATCH_UP_WINDOW = '1h';

const Duration = Type.String({ maxLength: 64, description: 'A duration such as "90s", "5m" or "1h30m".' });

export const ScheduleSchema = Type.Object(
  {
    cron: Type.Optional(
      Type.String({
        maxLength: MAX_CRON_LENGTH,
        description: 'A 5-field (minute first) or 6-field (seconds first) cron expression, or a macro such as "@daily".',
      }),
    ),
    every: Type.Optional(
      Type.String({ maxLength: 64, description: 'A fixed interval such as "90s" or "5m" (at least 1s), aligned to the Unix epoch.' }),
    ),
    at: Type.Optional(Type.String({ maxLength: 64, description: 'One instant, ISO 8601 with an offset or Z: "2026-12-01T09:00:00Z".' })),
    timezone: Type.Optional(Type.String({ maxLength: 64, description: 'IANA time zone the cron expression is read in; default "UTC".' })),
    catchUp: Type.Optional(
      Type.Union(
        CATCH_UP_POLICIES.map((p) => Type.Literal(p)),
        { description: 'Missed fires: "skip" (default), "latest" or "all".' },
      ),
    ),
    catchUpWindow: Type.Optional(Duration),
    overlap: Type.Optional(
      Type.Union(
        OVERLAP_POLICIES.map((p) => Type.Literal(p)),
        { description: 'A fire while a run is active: "allow" (default), "forbid", "replace" or "queue".' },
      ),
    ),
  },
  { additionalProperties: false, $id: 'Schedule' },
);
export type ScheduleSpec = Static<typeof ScheduleSchema>;

interface CompiledCommon {
  readonly spec: ScheduleSpec;
  /** Canonical IANA name. */
  readonly timezone: string;
  readonly catchUp: CatchUpPolicy;
  readonly catchUpWindowMs: number;
  readonly overlap: OverlapPolicy;
}

/** A schedule validated once, with units resolved and its cron expression parsed. */
export type CompiledSchedule =
  | (CompiledCommon & { readonly kind: 'cron'; readonly cron: CronPattern })
  | (CompiledCommon & { readonly kind: 'every'; readonly everyMs: number })
  | (CompiledCommon & { readonly kind: 'at'; readonly atMs: number });

const TRIGGERS = ['cron', 'every', 'at'] as const;
const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

/** Epoch ms of an ISO 8601 instant with an explicit offset or Z; undefined when not one (or not a real date). */
export function parseInstant(text: string): number | undefined {
  const m = ISO_INSTANT.exec(text.trim());
  if (!m) return undefined;
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [number, number, number, number, number];
  const second = Number(m[6] ?? 0);
  const whole = utcFields(year, month, day, hour, minute, second);
  const wall = whole + Math.floor(Number(m[7] ?? 0) * 1000);
  const d = new Date(whole);
  if (d.getUTCDate() !== day || d.getUTCMonth() !== month - 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const zone = (m[8] ?? 'Z').toUpperCase();
  if (zone === 'Z') return wall;
  const [oh, om] = zone.slice(1).split(':').map(Number) as [number, number];
  if (oh > 18 || om > 59) return undefined;
  const offset = (oh * 60 + om) * 60_000 * (zone.startsWith('-') ? -1 : 1);
  return wall - offset;
}

function describeValue(v: unknown): string {
  return typeof v === 'string' ? `"${v.length > 40 ? `${v.slice(0, 40)}…` : v}"` : (JSON.stringify(v) ?? String(v));
}

/** Lists every problem with a schedule, each naming its field (`schedule.cron`); empty when valid. */
export function validateSchedule(input: unknown, field = 'schedule'): FieldError[] {
  const at = (name: string) => (field ? `${field}.${name}` : name);
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return [{ field, message: 'must be an object with one of "cron", "every" or "at"' }];
  }
  const s = input as Record<string, unknown>;
  const allowed = Object.keys(ScheduleSchema.properties);
  const errs: FieldError[] = Object.keys(s)
    .filter((k) => !allowed.includes(k))
    .map((k) => ({ field: at(k), message: `unknown field; expected one of: ${allowed.join(', ')}` }));
  const given = TRIGGERS.filter((t) => s[t] !== undefined);
  if (given.length === 0)
    errs.push({ field, message: 'needs one of "cron" (e.g. "0 2 * * *"), "every" (e.g. "5m") or "at" (an ISO instant)' });
  if (given.length > 1)
    errs.push({ field, message: `takes exactly one of "cron", "every" or "at", not both ${given.map((g) => `"${g}"`).join(' and ')}` });

  if (s.cron !== undefined) {
    if (typeof s.cron !== 'string') errs.push({ field: at('cron'), message: 'must be a string such as "0 2 * * *"' });
    else {
      const parsed = parseCron(s.cron);
      if (!parsed.ok) errs.push({ field: at('cron'), message: parsed.message });
    }
  }
  if (s.every !== undefined) {
    const ms = typeof s.every === 'string' && s.every.length <= 64 ? parseDuration(s.every) : undefined;
    if (typeof s.every === 'string' && s.every.trim().startsWith('-'))
      errs.push({ field: at('every'), message: `${describeValue(s.every)} is negative; an interval must be at least 1s` });
    else if (ms === undefined)
      errs.push({ field: at('every'), message: `${describeValue(s.every)} is not a duration; use e.g. "90s", "5m", "1h"` });
    else if (ms < MIN_EVERY_MS)
      errs.push({ field: at('every'), message: `${describeValue(s.every)} is shorter than the minimum interval of 1s` });
    else if (ms > MAX_EVERY_MS)
      errs.push({ field: at('every'), message: `${describeValue(s.every)} is longer than 366d; use "cron" for longer periods` });
  }
  if (s.at !== undefined && (typeof s.at !== 'string' || s.at.length > 64 || parseInstant(s.at) === undefined)) {
    errs.push({
      field: at('at'),
      message: `${describeValue(s.at)} is not an ISO 8601 instant with an offset; use e.g. "2026-12-01T09:00:00Z" or "2026-12-01T10:00:00+01:00"`,
    });
  }
  if (s.timezone !== undefined && (typeof s.timezone !== 'string' || canonicalTimeZone(s.timezone) === undefined)) {
    errs.push({
      field: at('timezone'),
      message: `${describeValue(s.timezone)} is not a known IANA time zone; use e.g. "Europe/Rome", "America/Chicago" or "UTC"`,
    });
  }
  if (s.catchUp !== undefined && !(CATCH_UP_POLICIES as readonly unknown[]).includes(s.catchUp)) {
    errs.push({
      field: at('catchUp'),
      message: `${describeValue(s.catchUp)} is not a catch-up policy; expected one of: ${CATCH_UP_POLICIES.join(', ')}`,
    });
  }
  if (s.catchUpWindow !== undefined) {
    const ms = typeof s.catchUpWindow === 'string' && s.catchUpWindow.length <= 64 ? parseDuration(s.catchUpWindow) : undefined;
    if (ms === undefined || ms <= 0 || ms > MAX_CATCH_UP_WINDOW_MS) {
      errs.push({
        field: at('catchUpWindow'),
        message: `${describeValue(s.catchUpWindow)} is not a positive duration up to 366d; use e.g. "2h"`,
      });
    }
  }
  if (s.overlap !== undefined && !(OVERLAP_POLICIES as readonly unknown[]).includes(s.overlap)) {
    errs.push({
      field: at('overlap'),
      message: `${describeValue(s.overlap)} is not an overlap policy; expected one of: ${OVERLAP_POLICIES.join(', ')}`,
    });
  }
  return errs;
}

/** Validates a schedule and resolves it for nextFire; throws ValidationError naming every problem. */
export function compileSchedule(spec: ScheduleSpec, field = 'schedule'): CompiledSchedule {
  const errs = validateSchedule(spec, field);
  if (errs.length > 0) throw new ValidationError(errs);
  const common: CompiledCommon = {
    spec,
    timezone: canonicalTimeZone(spec.timezone ?? DEFAULT_TIMEZONE) ?? DEFAULT_TIMEZONE,
    catchUp: spec.catchUp ?? 'skip',
    catchUpWindowMs: parseDuration(spec.catchUpWindow ?? DEFAULT_CATCH_UP_WINDOW) ?? 3_600_000,
    overlap: spec.overlap ?? 'allow',
  };
  if (spec.cron !== undefined) {
    const parsed = parseCron(spec.cron);
    if (!parsed.ok) throw new ValidationError([{ field: `${field}.cron`, message: parsed.message }]);
    return Object.freeze({ ...common, kind: 'cron' as const, cron: parsed.pattern });
  }
  if (spec.every !== undefined)
    return Object.freeze({ ...common, kind: 'every' as const, everyMs: parseDuration(spec.every) ?? MIN_EVERY_MS });
  return Object.freeze({ ...common, kind: 'at' as const, atMs: parseInstant(spec.at ?? '') ?? 0 });
}

/** The first fire strictly after `afterMs` (epoch ms), or null when there is none (a past `at`). */
export function nextFire(schedule: CompiledSchedule, afterMs: number): number | null {
  switch (schedule.kind) {
    case 'at':
      return schedule.atMs > afterMs ? schedule.atMs : null;
    case 'every':
      return (Math.floor(afterMs / schedule.everyMs) + 1) * schedule.everyMs;
    case 'cron': {
      // Wall times up to the latest reading seen so far have fired (or were repeats); the
      // next fire is the first matching wall time beyond it, resolved to an instant.
      const wall = nextMatchingWallTime(schedule.cron, maxWallClockUpTo(afterMs, schedule.timezone));
      return wall === null ? null : instantOfWallTime(wall, schedule.timezone);
    }
  }
}

/** Fires in (afterExclusiveMs, untilInclusiveMs], ascending, at most `limit` of them. */
export function firesBetween(schedule: CompiledSchedule, afterExclusiveMs: number, untilInclusiveMs: number, limit: number): number[] {
  const out: number[] = [];
  let t = afterExclusiveMs;
  while (out.length < limit) {
    const next = nextFire(schedule, t);
    if (next === null || next > untilInclusiveMs) break;
    out.push(next);
    t = next;
  }
  return out;
}

/** A schedule as a person reads it: "at 02:00 every day (Europe/Rome)", "every 90 seconds". */
export function describeSchedule(spec: ScheduleSpec | CompiledSchedule): string {
  const s = 'kind' in spec ? spec : compileSchedule(spec);
  switch (s.kind) {
    case 'at':
      return `once at ${formatInZone(s.atMs, s.timezone)}${s.timezone === 'UTC' ? '' : ` (${s.timezone})`}`;
    case 'every':
      return describeInterval(s.everyMs);
    case 'cron':
      return describeCron(s.cron, s.timezone);
  }
}
