import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { LogChunk } from '../api/types.js';
import { toLines } from './log-lines.js';

let seq = 0;
const chunk = (data: string, stream: 'stdout' | 'stderr' = 'stdout', attempt = 1): LogChunk => ({
  attempt,
  seq: seq++,
  stream,
  data,
  at: '2026-12-07T04:00:00.000Z',
});

/** Each line as text, with coloured pieces written [fg|text] and tokens {text}. */
const drawn = (chunks: LogChunk[], raw = false) =>
  toLines(chunks, raw).map((l) =>
    l.pieces
      .map((p) =>
        p.control
          ? `{${p.text}}`
          : p.fg || p.decorations
            ? `[${p.fg ?? ''}${p.decorations ? `|${p.decorations.join(',')}` : ''}|${p.text}]`
            : p.text,
      )
      .join(''),
  );

describe('toLines', () => {
  it('colours SGR sequences and keeps the colour across lines until reset', () => {
    expect(drawn([chunk('\x1b[32mok\nstill\x1b[0m plain\n')])).toEqual(['[0, 187, 0|ok]', '[0, 187, 0|still] plain']);
  });
  it('reads bold and 24-bit colours', () => {
    expect(drawn([chunk('\x1b[1;38;2;1;2;3mx\x1b[0m\n')])).toEqual(['[1, 2, 3|bold|x]']);
  });
  it('in raw mode draws every escape as a token', () => {
    expect(drawn([chunk('\x1b[31mred\x1b[0m\n')], true)).toEqual(['{␛}[31mred{␛}[0m']);
  });
  it('joins a line printed over several chunks, per stream', () => {
    const lines = toLines([chunk('hel'), chunk('oops\n', 'stderr'), chunk('lo\n')], false);
    expect(lines.map((l) => [l.stream, l.text])).toEqual([
      ['stdout', 'hello'],
      ['stderr', 'oops'],
    ]);
  });
  it('keeps empty lines and tokens for what is not SGR', () => {
    expect(drawn([chunk('a\n\n\u202Eb\rc\n')])).toEqual(['a', '', '{<U+202E>}b{␍}c']);
  });
  it('never lets a colour be anything but three numbers, and loses no printable text', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string(), fc.constantFrom('\x1b[31m', '\x1b[0m', '\x1b[38;5;200m', '\x1b[1m', '\n'))), (parts) => {
        const text = parts.join('');
        const lines = toLines([chunk(text)], false);
        for (const l of lines)
          for (const p of l.pieces) {
            if (p.fg) expect(p.fg).toMatch(/^\d{1,3}, ?\d{1,3}, ?\d{1,3}$/);
            if (p.bg) expect(p.bg).toMatch(/^\d{1,3}, ?\d{1,3}, ?\d{1,3}$/);
          }
        // eslint-disable-next-line no-control-regex -- the escapes are what is removed
        const printable = text.replace(/\x1b\[[\d;]*m/g, '').replace(/[^a-z0-9 ]/gi, '');
        expect(lines.map((l) => l.text.replace(/[^a-z0-9 ]/gi, '')).join('')).toBe(printable.replace(/\n/g, ''));
      }),
      { seed: 42, numRuns: 300 },
    );
  });
});
