import { describe, expect, it } from 'vitest';
import { ValidationError } from './errors.js';
import {
  compileSchedule,
  describeSchedule,
  firesBetween,
  formatInZone,
  nextFire,
  parseInstant,
  validateSchedule,
  type ScheduleSpec,
} from './schedule.js';

const HOUR = 3_600_000;

/** Fires after `from` (an ISO instant, exclusive), as local times with offsets. */
function fires(spec: ScheduleSpec, from: string, count: number): string[] {
  const s = compileSchedule(spec);
  return firesBetween(s, Date.parse(from), Date.parse(from) + 10 * 86_400_000, count).map((t) => formatInZone(t, s.timezone));
}

describe('DST days: a skipped wall time fires once right after the gap, a repeated one once at its first occurrence', () => {
  const chicago = (cron: string) => ({ cron, timezone: 'America/Chicago' });
  const rome = (cron: string) => ({ cron, timezone: 'Europe/Rome' });

  it.each<[string, ScheduleSpec, string, string[]]>([
    // America/Chicago 2026-03-08: 02:00 CST jumps to 03:00 CDT.
    [
      'Chicago spring, daily 02:30',
      chicago('30 2 * * *'),
      '2026-03-06T12:00:00Z',
      ['2026-03-07T02:30:00-06:00', '2026-03-08T03:00:00-05:00', '2026-03-09T02:30:00-05:00'],
    ],
    [
      'Chicago spring, hourly',
      chicago('0 * * * *'),
      '2026-03-08T06:00:00Z',
      ['2026-03-08T01:00:00-06:00', '2026-03-08T03:00:00-05:00', '2026-03-08T04:00:00-05:00'],
    ],
    [
      'Chicago spring, */15',
      chicago('*/15 * * * *'),
      '2026-03-08T07:30:00Z',
      ['2026-03-08T01:45:00-06:00', '2026-03-08T03:00:00-05:00', '2026-03-08T03:15:00-05:00'],
    ],
    // America/Chicago 2026-11-01: 02:00 CDT falls back to 01:00 CST; 01:00–01:59 happens twice.
    [
      'Chicago fall, daily 01:30',
      chicago('30 1 * * *'),
      '2026-10-31T12:00:00Z',
      ['2026-11-01T01:30:00-05:00', '2026-11-02T01:30:00-06:00'],
    ],
    [
      'Chicago fall, daily 02:30',
      chicago('30 2 * * *'),
      '2026-10-31T12:00:00Z',
      ['2026-11-01T02:30:00-06:00', '2026-11-02T02:30:00-06:00'],
    ],
    [
      'Chicago fall, hourly',
      chicago('0 * * * *'),
      '2026-11-01T05:00:00Z',
      ['2026-11-01T01:00:00-05:00', '2026-11-01T02:00:00-06:00', '2026-11-01T03:00:00-06:00'],
    ],
    [
      'Chicago fall, */15',
      chicago('*/15 * * * *'),
      '2026-11-01T06:30:00Z',
      ['2026-11-01T01:45:00-05:00', '2026-11-01T02:00:00-06:00', '2026-11-01T02:15:00-06:00'],
    ],
    // Europe/Rome 2026-03-29: 02:00 CET jumps to 03:00 CEST.
    [
      'Rome spring, daily 02:30',
      rome('30 2 * * *'),
      '2026-03-27T12:00:00Z',
      ['2026-03-28T02:30:00+01:00', '2026-03-29T03:00:00+02:00', '2026-03-30T02:30:00+02:00'],
    ],
    [
      'Rome spring, hourly',
      rome('0 * * * *'),
      '2026-03-28T23:30:00Z',
      ['2026-03-29T01:00:00+01:00', '2026-03-29T03:00:00+02:00', '2026-03-29T04:00:00+02:00'],
    ],
    [
      'Rome spring, */15',
      rome('*/15 * * * *'),
      '2026-03-29T00:40:00Z',
      ['2026-03-29T01:45:00+01:00', '2026-03-29T03:00:00+02:00', '2026-03-29T03:15:00+02:00'],
    ],
    [
      'Rome spring, 6-field 02:30:30',
      rome('30 30 2 * * *'),
      '2026-03-28T12:00:00Z',
      ['2026-03-29T03:00:00+02:00', '2026-03-30T02:30:30+02:00'],
    ],
    // Europe/Rome 2026-10-25: 03:00 CEST falls back to 02:00 CET; 02:00–02:59 happens twice.
    ['Rome fall, daily 02:30', rome('30 2 * * *'), '2026-10-24T12:00:00Z', ['2026-10-25T02:30:00+02:00', '2026-10-26T02:30:00+01:00']],
    [
      'Rome fall, hourly',
      rome('0 * * * *'),
      '2026-10-24T23:30:00Z',
      ['2026-10-25T02:00:00+02:00', '2026-10-25T03:00:00+01:00', '2026-10-25T04:00:00+01:00'],
    ],
    [
      'Rome fall, */15',
      rome('*/15 * * * *'),
      '2026-10-25T00:40:00Z',
      ['2026-10-25T02:45:00+02:00', '2026-10-25T03:00:00+01:00', '2026-10-25T03:15:00+01:00'],
    ],
    // Australia/Lord_Howe moves by 30 minutes: 02:00 → 02:30 on 2026-10-04, 02:00 → 01:30 on 2026-04-05.
    [
      'Lord Howe spring, daily 02:15',
      { cron: '15 2 * * *', timezone: 'Australia/Lord_Howe' },
      '2026-10-03T12:00:00Z',
      ['2026-10-04T02:30:00+11:00', '2026-10-05T02:15:00+11:00'],
    ],
    [
      'Lord Howe fall, daily 01:45',
      { cron: '45 1 * * *', timezone: 'Australia/Lord_Howe' },
      '2026-04-04T12:00:00Z',
      ['2026-04-05T01:45:00+11:00', '2026-04-06T01:45:00+10:30'],
    ],
  ])('%s', (_name, spec, from, want) => {
    expect(fires(spec, from, want.length)).toEqual(want);
  });

  it('does not fire again inside the repeated hour when asked from within it', () => {
    const s = compileSchedule({ cron: '*/15 * * * *', timezone: 'Europe/Rome' });
    // 01:10Z is 02:10 CET, the second pass through 02:00–02:59.
    expect(formatInZone(nextFire(s, Date.parse('2026-10-25T01:10:00Z')) ?? 0, 'Europe/Rome')).toBe('2026-10-25T03:00:00+01:00');
  });

  it('runs a daily job exactly once on each DST day', () => {
    for (const [zone, day] of [
      ['America/Chicago', '2026-03-08'],
      ['America/Chicago', '2026-11-01'],
      ['Europe/Rome', '2026-03-29'],
      ['Europe/Rome', '2026-10-25'],
    ] as const) {
      for (const cron of ['0 0 * * *', '30 1 * * *', '30 2 * * *', '0 3 * * *']) {
        const local = fires({ cron, timezone: zone }, new Date(Date.parse(`${day}T00:00:00Z`) - 14 * HOUR).toISOString(), 4).map((t) =>
          t.slice(0, 10),
        );
        expect(
          local.filter((d) => d === day),
          `${cron} in ${zone}`,
        ).toHaveLength(1);
      }
    }
  });

  it('keeps `every` in absolute time, aligned to the epoch, across DST', () => {
    const s = compileSchedule({ every: '1h', timezone: 'Europe/Rome' });
    const day = firesBetween(s, Date.parse('2026-10-24T22:00:00Z'), Date.parse('2026-10-25T23:00:00Z'), 100);
    expect(day).toHaveLength(25);
    expect(day.every((t, i) => i === 0 || t - (day[i - 1] ?? 0) === HOUR)).toBe(true);
    expect(nextFire(compileSchedule({ every: '90s' }), 0)).toBe(90_000);
    expect(nextFire(compileSchedule({ every: '90s' }), 90_000)).toBe(180_000);
    expect(nextFire(compileSchedule({ every: '90s' }), 90_001)).toBe(180_000);
  });
});

describe('nextFire for `at`', () => {
  it('fires once, at the instant, and never after it', () => {
    const s = compileSchedule({ at: '2026-12-01T10:00:00+01:00' });
    const at = Date.parse('2026-12-01T09:00:00Z');
    expect(nextFire(s, at - 1)).toBe(at);
    expect(nextFire(s, at)).toBeNull();
    expect(firesBetween(s, 0, Number.MAX_SAFE_INTEGER, 10)).toEqual([at]);
  });
});

describe('validateSchedule', () => {
  it.each<[string, unknown, string, RegExp]>([
    ['minute out of range', { cron: '60 * * * *' }, 'schedule.cron', /minute 60 is out of range 0-59/],
    ['hour out of range', { cron: '0 24 * * *' }, 'schedule.cron', /hour 24 is out of range 0-23/],
    ['zero step', { cron: '*/0 * * * *' }, 'schedule.cron', /step must be at least 1/],
    ['backwards range', { cron: '0 5-2 * * *' }, 'schedule.cron', /hour range 5-2 runs backwards/],
    ['a 10 KB string, by length before parsing', { cron: '*'.repeat(10_240) }, 'schedule.cron', /10240 characters long; at most 256/],
    ['an impossible date', { cron: '0 0 31 2 *' }, 'schedule.cron', /never fires/],
    ['an impossible 6-field date', { cron: '0 0 0 30 2 *' }, 'schedule.cron', /never fires/],
    ['four fields', { cron: '* * * *' }, 'schedule.cron', /4 fields; expected 5/],
    ['seven fields', { cron: '* * * * * * *' }, 'schedule.cron', /7 fields/],
    ['empty', { cron: '  ' }, 'schedule.cron', /is empty/],
    ['unknown macro', { cron: '@fortnightly' }, 'schedule.cron', /unknown macro/],
    ['W', { cron: '0 0 15W * *' }, 'schedule.cron', /W \(nearest weekday\) is not supported/],
    ['H', { cron: 'H 0 * * *' }, 'schedule.cron', /H \(hashed\)/],
    ['bad #', { cron: '0 0 * * 1#6' }, 'schedule.cron', /1 to 5/],
    ['garbage', { cron: 'every day' }, 'schedule.cron', /2 fields/],
    ['letters in a field', { cron: '0 x * * *' }, 'schedule.cron', /hour "x" is not a value/],
    ['not a string', { cron: 5 }, 'schedule.cron', /must be a string/],
    ['unknown time zone', { cron: '@daily', timezone: 'Mars/Olympus_Mons' }, 'schedule.timezone', /not a known IANA time zone/],
    ['a fixed offset instead of a zone', { cron: '@daily', timezone: '+02:00' }, 'schedule.timezone', /IANA/],
    ['negative interval', { every: '-5m' }, 'schedule.every', /negative/],
    ['zero interval', { every: '0s' }, 'schedule.every', /minimum interval of 1s/],
    ['tiny interval', { every: '250ms' }, 'schedule.every', /minimum interval of 1s/],
    ['interval that is not a duration', { every: 'often' }, 'schedule.every', /not a duration/],
    ['interval as a number', { every: 60 }, 'schedule.every', /not a duration/],
    ['both cron and every', { cron: '* * * * *', every: '5m' }, 'schedule', /exactly one.*"cron" and "every"/],
    ['none of cron, every, at', { timezone: 'UTC' }, 'schedule', /needs one of/],
    ['at without an offset', { at: '2026-12-01T09:00:00' }, 'schedule.at', /ISO 8601 instant with an offset/],
    ['at on a day that does not exist', { at: '2026-02-30T09:00:00Z' }, 'schedule.at', /ISO 8601/],
    ['at that is not a date', { at: 'tomorrow' }, 'schedule.at', /ISO 8601/],
    ['unknown catch-up policy', { every: '1m', catchUp: 'sometimes' }, 'schedule.catchUp', /skip, latest, all/],
    ['zero catch-up window', { every: '1m', catchUpWindow: '0s' }, 'schedule.catchUpWindow', /positive duration/],
    ['unknown overlap policy', { every: '1m', overlap: 'never' }, 'schedule.overlap', /allow, forbid, replace, queue/],
    ['unknown field', { every: '1m', tz: 'UTC' }, 'schedule.tz', /unknown field/],
    ['not an object', 'every day', 'schedule', /must be an object/],
  ])('%s', (_name, input, field, message) => {
    const errs = validateSchedule(input);
    expect(errs.map((e) => e.field)).toContain(field);
    expect(errs.find((e) => e.field === field)?.message).toMatch(message);
  });

  it.each<[string, ScheduleSpec]>([
    ['5 fields', { cron: '0 2 * * *', timezone: 'Europe/Rome' }],
    ['6 fields', { cron: '*/10 * * * * *' }],
    ['@midnight', { cron: '@midnight' }],
    ['@annually', { cron: '@annually' }],
    ['last day of the month', { cron: '0 0 L * *' }],
    ['last Friday', { cron: '0 17 * * 5L' }],
    ['second Monday', { cron: '0 9 * * 1#2' }],
    ['names', { cron: '0 9 * JAN-MAR MON,THU' }],
    ['Feb 29', { cron: '0 0 29 2 *' }],
    ['every', { every: '1h30m', catchUp: 'all', catchUpWindow: '2h', overlap: 'queue' }],
    ['at', { at: '2026-12-01T10:00:00.250+01:00' }],
    ['lower-case zone', { cron: '@daily', timezone: 'europe/rome' }],
  ])('accepts %s', (_name, spec) => {
    expect(validateSchedule(spec)).toEqual([]);
  });

  it('names every problem at once, under the prefix it is given', () => {
    const errs = validateSchedule({ cron: '60 * * * *', timezone: 'Nowhere/Land', overlap: 'x' }, 'jobs.0.schedule');
    expect(errs.map((e) => e.field).sort()).toEqual(['jobs.0.schedule.cron', 'jobs.0.schedule.overlap', 'jobs.0.schedule.timezone']);
  });

  it('compileSchedule throws a ValidationError naming the field', () => {
    expect(() => compileSchedule({ cron: '0 0 31 2 *' })).toThrow(ValidationError);
    expect(() => compileSchedule({ cron: '0 0 31 2 *' })).toThrow(/schedule\.cron: never fires/);
  });

  it('resolves defaults and canonical zone names', () => {
    const s = compileSchedule({ cron: '@daily', timezone: 'europe/rome' });
    expect([s.timezone, s.catchUp, s.catchUpWindowMs, s.overlap]).toEqual(['Europe/Rome', 'skip', HOUR, 'allow']);
  });
});

describe('crontab lines as cronie reads them', () => {
  const days = (cron: string, from: string, count = 6) =>
    firesBetween(compileSchedule({ cron }), Date.parse(from), Date.parse(from) + 200 * 86_400_000, count).map((t) =>
      new Date(t).toISOString().slice(0, 10),
    );

  it.each<[string, string]>([
    ['0 0 * * 0,7', '0 0 * * 0'],
    ['0 0 * * 7', '0 0 * * 0'],
    ['*/15,30 * * * *', '*/15 * * * *'],
    ['0 9-17,12 * * *', '0 9-17 * * *'],
    ['0 0 1,1,15 * *', '0 0 1,15 * *'],
    ['0 0 * * 5-7,SUN', '0 0 * * 0,5,6'],
  ])('accepts %s, a value named twice, as the union: the same fires as %s', (line, union) => {
    expect(validateSchedule({ cron: line })).toEqual([]);
    expect(fires({ cron: line }, '2026-06-01T00:00:00Z', 12)).toEqual(fires({ cron: union }, '2026-06-01T00:00:00Z', 12));
  });

  it('runs on a day matching either field when neither day field starts with *', () => {
    // June 2026: Mon 1st, Fridays 5th, 12th, 19th, 26th.
    expect(days('0 0 1,15 * 5', '2026-05-31T00:00:00Z')).toEqual([
      '2026-06-01',
      '2026-06-05',
      '2026-06-12',
      '2026-06-15',
      '2026-06-19',
      '2026-06-26',
    ]);
    // 1-31 names every day without starting with *: either matches, so every day.
    expect(days('0 0 1-31 * 5', '2026-05-31T00:00:00Z', 3)).toEqual(['2026-06-01', '2026-06-02', '2026-06-03']);
  });

  it('runs only on a day matching both fields when one starts with *, */2 included', () => {
    // Odd dates that are Mondays (cronie's DOM_STAR): not every odd date, not every Monday.
    expect(days('0 0 */2 * 1', '2026-05-31T00:00:00Z', 4)).toEqual(['2026-06-01', '2026-06-15', '2026-06-29', '2026-07-13']);
    expect(days('0 0 *,5 * 1', '2026-05-31T00:00:00Z', 2)).toEqual(['2026-06-01', '2026-06-08']);
    // */3 is Sunday, Wednesday, Saturday: the 1st when it is one of them.
    expect(days('0 0 1 * */3', '2026-05-31T00:00:00Z', 2)).toEqual(['2026-07-01', '2026-08-01']);
    expect(describeSchedule({ cron: '0 0 */2 * 1' })).toBe(
      'at 00:00 on Monday, when also on days 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29 and 31 of the month (UTC)',
    );
  });
});

describe('parseInstant', () => {
  it.each<[string, number | undefined]>([
    ['2026-12-01T09:00:00Z', Date.UTC(2026, 11, 1, 9)],
    ['2026-12-01T10:00:00+01:00', Date.UTC(2026, 11, 1, 9)],
    ['2026-12-01T04:00-05:00', Date.UTC(2026, 11, 1, 9)],
    ['2026-12-01T09:00:00.5Z', Date.UTC(2026, 11, 1, 9) + 500],
    ['2026-12-01', undefined],
    ['2026-13-01T00:00:00Z', undefined],
    ['2026-12-01T24:00:00Z', undefined],
  ])('%s', (text, want) => {
    expect(parseInstant(text)).toBe(want);
  });
});

describe('describeSchedule', () => {
  it.each<[ScheduleSpec, string]>([
    [{ cron: '0 2 * * *', timezone: 'Europe/Rome' }, 'at 02:00 every day (Europe/Rome)'],
    [{ cron: '* * * * *' }, 'every minute'],
    [{ cron: '*/15 * * * *', timezone: 'Asia/Kolkata' }, 'every 15 minutes'],
    [{ cron: '5 * * * *' }, 'at minute 5 past every hour (UTC)'],
    [{ cron: '@hourly' }, 'every hour (UTC)'],
    [{ cron: '*/10 * * * * *' }, 'every 10 seconds'],
    [{ cron: '0 9 * * 1-5', timezone: 'America/Chicago' }, 'at 09:00 on weekdays (America/Chicago)'],
    [{ cron: '0 9,17 * * *' }, 'at 09:00 and 17:00 every day (UTC)'],
    [{ cron: '0 0 L * *' }, 'at 00:00 on the last day of the month (UTC)'],
    [{ cron: '0 17 * * 5L' }, 'at 17:00 on the last Friday of the month (UTC)'],
    [{ cron: '0 9 * * 1#2' }, 'at 09:00 on the 2nd Monday of the month (UTC)'],
    [{ cron: '@yearly' }, 'at 00:00 on January 1 (UTC)'],
    [{ cron: '15 10 * 3,6 *' }, 'at 10:15 every day in March and June (UTC)'],
    [{ cron: '*/20 9-17 * * 1-5' }, 'every 20 minutes from 09:00 to 17:59 on weekdays (UTC)'],
    [{ cron: '0 */2 * * *' }, 'every 2 hours (UTC)'],
    [{ cron: '0 0-30/10 9-17 * * *' }, 'at minute 0-30/10, hour 9-17 every day (UTC)'],
    [{ every: '90s' }, 'every 90 seconds'],
    [{ every: '5m' }, 'every 5 minutes'],
    [{ every: '1h' }, 'every hour'],
    [{ at: '2026-12-01T09:00:00Z' }, 'once at 2026-12-01T09:00:00Z'],
    [{ at: '2026-12-01T09:00:00Z', timezone: 'Europe/Rome' }, 'once at 2026-12-01T10:00:00+01:00 (Europe/Rome)'],
  ])('%j → %s', (spec, want) => {
    expect(describeSchedule(spec)).toBe(want);
  });
});

describe('formatInZone', () => {
  it.each<[string, string, string]>([
    ['2026-03-29T01:00:00Z', 'Europe/Rome', '2026-03-29T03:00:00+02:00'],
    ['2026-03-29T00:59:59Z', 'Europe/Rome', '2026-03-29T01:59:59+01:00'],
    ['2026-11-01T07:30:00Z', 'America/Chicago', '2026-11-01T01:30:00-06:00'],
    ['2026-06-01T00:00:00Z', 'Asia/Kolkata', '2026-06-01T05:30:00+05:30'],
    ['2026-06-01T00:00:00Z', 'Australia/Lord_Howe', '2026-06-01T10:30:00+10:30'],
    ['2026-06-01T00:00:00.250Z', 'UTC', '2026-06-01T00:00:00.250Z'],
  ])('%s in %s', (iso, zone, want) => {
    expect(formatInZone(Date.parse(iso), zone)).toBe(want);
  });
});
