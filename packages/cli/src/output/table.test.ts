import { describe, expect, it } from 'vitest';
import { formatFields, formatTable, wrapText } from './table.js';
import { formatBytes } from '@drover/shared';
import { humanBytes, humanDuration, relativeTime } from './units.js';

describe('formatTable', () => {
  const rows = [
    { name: 'nightly-report', state: 'succeeded', n: 1 },
    { name: 'x', state: 'failed\nwith a newline', n: 120 },
  ];
  const cols = [
    { header: 'NAME', value: (r: (typeof rows)[number]) => r.name },
    { header: 'N', value: (r: (typeof rows)[number]) => r.n, right: true },
    { header: 'STATE', value: (r: (typeof rows)[number]) => r.state, max: 12 },
  ];

  it('aligns columns two spaces apart, numbers right, and keeps each row on one line', () => {
    expect(formatTable(rows, cols)).toBe(
      ['NAME              N  STATE', 'nightly-report    1  succeeded', 'x               120  failed with…', ''].join('\n'),
    );
  });

  it('escapes control characters in cells, so a job or agent name cannot drive the terminal', () => {
    const named = [{ name: '\x1b[2Jwipe', err: 'bad\r\u202Eevil' }];
    const text = formatTable(named, [
      { header: 'NAME', value: (r: (typeof named)[number]) => r.name },
      { header: 'ERROR', value: (r: (typeof named)[number]) => r.err },
    ]);
    expect(text).toBe('NAME         ERROR\n\\x1b[2Jwipe  bad \\u202eevil\n');
    expect(formatFields([['error', 'a\x1b[1Ab']])).toBe('error:  a\\x1b[1Ab\n');
  });

  it('shows absent cells as - and says so when there are no rows', () => {
    expect(formatTable([{ a: null }], [{ header: 'A', value: (r: { a: null }) => r.a }])).toBe('A\n-\n');
    expect(formatTable([], cols, 'no jobs yet')).toBe('no jobs yet\n');
  });
});

describe('a wrapped last column (reasons, errors)', () => {
  const reason = 'waited for an agent for 2h: no agent matches label.region = ap (3 agents: 2 lack label.region, 1 is down)';
  const rows = [{ id: '01J', reason }];
  const cols = [
    { header: 'RUN', value: (r: (typeof rows)[number]) => r.id },
    { header: 'REASON', value: (r: (typeof rows)[number]) => r.reason, wrap: true },
  ];

  it('is never cut: a pipe gets it whole on one line', () => {
    expect(formatTable(rows, cols)).toBe(`RUN  REASON\n01J  ${reason}\n`);
  });

  it('wraps at words to the terminal width, each further line under the column, losing nothing', () => {
    const text = formatTable(rows, cols, undefined, { width: 40 });
    const lines = text.trimEnd().split('\n');
    expect(lines.every((l) => l.length <= 40)).toBe(true);
    expect(lines.slice(2).every((l) => l.startsWith('     ') && l[5] !== ' ')).toBe(true);
    expect(
      lines
        .slice(1)
        .map((l) => l.slice(5))
        .join(' '),
    ).toBe(reason);
    expect(lines[1]).toBe('01J  waited for an agent for 2h: no');
  });
});

describe('wrapText', () => {
  it('breaks at spaces within the width, and a word longer than the width where it must', () => {
    expect(wrapText('aaa bbb ccc', 7)).toEqual(['aaa bbb', 'ccc']);
    expect(wrapText('abcdefghij', 4)).toEqual(['abcd', 'efgh', 'ij']);
    expect(wrapText('short', 10)).toEqual(['short']);
  });
});

describe('formatFields', () => {
  it('aligns keys and skips absent values', () => {
    expect(
      formatFields([
        ['run', '01J'],
        ['agent', null],
        ['finished at', 'now'],
      ]),
    ).toBe('run:          01J\nfinished at:  now\n');
  });
});

describe('times and sizes', () => {
  const now = Date.parse('2026-11-30T12:00:00Z');
  it.each([
    ['2026-11-30T12:00:00.400Z', 'just now'],
    ['2026-11-30T11:59:55.600Z', '4s ago'],
    ['2026-11-30T11:57:00Z', '3m00s ago'],
    ['2026-11-30T09:55:00Z', '2h05m ago'],
    ['2026-11-30T12:10:00Z', 'in 10m00s'],
  ])('relativeTime(%s) is %s', (iso, text) => expect(relativeTime(iso, now)).toBe(text));

  it('reads durations and sizes the way people write them', () => {
    expect([humanDuration(850), humanDuration(4200), humanDuration(192_000), humanDuration(null)]).toEqual(['850ms', '4.2s', '3m12s', '-']);
    expect([humanBytes(512), humanBytes(1536), humanBytes(256 * 2 ** 20), humanBytes(7.8 * 2 ** 30)]).toEqual([
      '512B',
      '1.5KiB',
      '256MiB',
      '7.8GiB',
    ]);
  });

  it('rounds sizes for a table where formatBytes keeps the decimal a job definition needs', () => {
    const size = 256.3 * 2 ** 20;
    expect([humanBytes(size), humanBytes(1025), humanBytes(undefined)]).toEqual(['256MiB', '1KiB', '-']);
    expect([formatBytes(size), formatBytes(1025)]).toEqual(['256.3MiB', '1.0KiB']);
  });
});
