import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatBytes, parseBytes, parseDuration, parseQuantity } from './units.js';

const KiB = 2 ** 10;
const MiB = 2 ** 20;
const GiB = 2 ** 30;
const TiB = 2 ** 40;

describe('parseBytes', () => {
  it.each<[string | number, number]>([
    ['1GiB', GiB],
    ['1GB', 1e9],
    ['256MiB', 256 * MiB],
    ['512MB', 512e6],
    ['1.5G', 1.5e9],
    ['1.5GiB', 1.5 * GiB],
    ['4KiB', 4 * KiB],
    ['4k', 4000],
    ['2Ti', 2 * TiB],
    ['1TB', 1e12],
    ['0', 0],
    ['1024', 1024],
    ['10B', 10],
    // Units are case-insensitive, so "1gb" (and "1Gb", which people sometimes mean as bits) is 1e9 bytes.
    ['1gib', GiB],
    ['1gb', 1e9],
    ['1Gb', 1e9],
    // Surrounding whitespace, and whitespace between number and unit, are accepted: "1 GiB" reads naturally in YAML and flags.
    ['  8GiB  ', 8 * GiB],
    ['1 GiB', GiB],
    // Fractions of a byte round to a whole byte.
    ['1.5B', 2],
    [0, 0],
    [1024, 1024],
    [1.5, 1.5],
  ])('%j is %d bytes', (input, bytes) => {
    expect(parseBytes(input)).toBe(bytes);
  });

  it.each<string | number>([
    '',
    ' ',
    'abc',
    'GiB',
    '-1',
    '-1GiB',
    '1XB',
    '1GiBs',
    '1.GiB',
    '.5GiB',
    '1e9',
    '1,5GiB',
    '1 2GiB',
    '1s',
    -1,
    Number.NaN,
    Infinity,
  ])('%j is not a size', (input) => {
    expect(parseBytes(input)).toBeUndefined();
  });
});

describe('parseDuration', () => {
  it.each<[string | number, number]>([
    ['90s', 90_000],
    ['1h30m', 5_400_000],
    ['250ms', 250],
    ['2d', 172_800_000],
    ['1m', 60_000],
    ['1m30s', 90_000],
    ['1d2h3m4s5ms', 86_400_000 + 7_200_000 + 180_000 + 4_000 + 5],
    ['1.5s', 1500],
    ['0s', 0],
    [' 10s ', 10_000],
    // Order is not enforced and repeated units add up.
    ['30m1h', 5_400_000],
    ['1s1s', 2000],
    // Numbers are milliseconds already.
    [0, 0],
    [1500, 1500],
  ])('%j is %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each<string | number>([
    '',
    '   ',
    '10',
    '1x',
    'h1',
    's',
    '1h 30m',
    '1H',
    '1h30',
    '-1s',
    '1.s',
    '.5s',
    '1sec',
    '1w',
    -1,
    Number.NaN,
    Infinity,
  ])('%j is not a duration', (input) => {
    expect(parseDuration(input)).toBeUndefined();
  });
});

describe('formatBytes', () => {
  it.each<[number, string]>([
    [0, '0B'],
    [1, '1B'],
    [1023, '1023B'],
    [1024, '1KiB'],
    [1536, '1.5KiB'],
    [256 * MiB, '256MiB'],
    [GiB, '1GiB'],
    [8 * GiB, '8GiB'],
    [1e9, '953.7MiB'],
    [TiB, '1TiB'],
    // TiB is the largest unit: bigger sizes stay in TiB rather than overflowing the unit list.
    [2048 * TiB, '2048TiB'],
  ])('%d bytes is %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});

describe('parseQuantity', () => {
  it.each<[string | number, number]>([
    [42, 42],
    [-3.5, -3.5],
    ['42', 42],
    [' 42 ', 42],
    ['-5', -5],
    ['3.25', 3.25],
    ['1GiB', GiB],
    ['512MB', 512e6],
    ['90s', 90_000],
    ['1h30m', 5_400_000],
    ['250ms', 250],
    ['2d', 172_800_000],
    // "m" is both mega (bytes) and minutes (duration); sizes are tried first, so "1m" is a million.
    ['1m', 1e6],
  ])('%j is %d', (input, n) => {
    expect(parseQuantity(input)).toBe(n);
  });

  it.each<string | number>(['', 'eu', 'linux', '1x', '1e3', '-1GiB', Number.NaN, Infinity])('%j is not a quantity', (input) => {
    expect(parseQuantity(input)).toBeUndefined();
  });
});

const binaryUnits = [
  ['B', 1],
  ['KiB', KiB],
  ['MiB', MiB],
  ['GiB', GiB],
  ['TiB', TiB],
] as const;

describe('units properties', () => {
  it('formatBytes(parseBytes(n + unit)) gives back the text for whole amounts of binary units', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: binaryUnits.length - 1 }), fc.integer({ min: 1, max: 1023 }), (u, n) => {
        const [unit, factor] = binaryUnits[u]!;
        const bytes = parseBytes(`${n}${unit}`);
        expect(bytes).toBe(n * factor);
        expect(formatBytes(bytes!)).toBe(`${n}${unit}`);
      }),
    );
  });

  it('whenever formatBytes shows a whole number, it parses back to exactly the same bytes', () => {
    const bytes = fc.oneof(
      fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      fc.tuple(fc.integer({ min: 0, max: 4096 }), fc.constantFrom(...binaryUnits.map(([, f]) => f))).map(([n, f]) => n * f),
    );
    fc.assert(
      fc.property(bytes, (b) => {
        const text = formatBytes(b);
        expect(text).toMatch(/^\d+(\.\d)?(B|KiB|MiB|GiB|TiB)$/);
        if (!text.includes('.')) expect(parseBytes(text)).toBe(b);
      }),
    );
  });

  const durationPart = fc
    .tuple(fc.integer({ min: 0, max: 10_000 }), fc.constantFrom('ms', 's', 'm', 'h', 'd'))
    .map(([n, unit]) => `${n}${unit}`);

  it('parseDuration of a concatenation is the sum of the parts', () => {
    fc.assert(
      fc.property(fc.array(durationPart, { minLength: 1, maxLength: 6 }), (parts) => {
        const sum = parts.reduce((acc, p) => acc + parseDuration(p)!, 0);
        expect(parseDuration(parts.join(''))).toBe(sum);
      }),
    );
  });

  it('parseDuration accepts nothing that does not end in a unit', () => {
    fc.assert(
      fc.property(fc.array(durationPart, { maxLength: 4 }), fc.integer({ min: 0, max: 999 }), (parts, n) => {
        expect(parseDuration(`${parts.join('')}${n}`)).toBeUndefined();
      }),
    );
  });

  it('parseQuantity reads every plain decimal number as itself', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e12, max: 1e12 }), (n) => {
        expect(parseQuantity(String(n))).toBe(n);
      }),
    );
  });
});
