import { describe, expect, it } from 'vitest';
import type { LogChunk } from '@drover/client';
import { writeChunk, type OutputStreams } from './logs.js';

function streams(isTTY: boolean): OutputStreams & { out: Array<string | Uint8Array>; err: Array<string | Uint8Array> } {
  const out: Array<string | Uint8Array> = [];
  const err: Array<string | Uint8Array> = [];
  return {
    out,
    err,
    stdout: { isTTY, write: (t: string | Uint8Array) => out.push(t) },
    stderr: { isTTY, write: (t: string | Uint8Array) => err.push(t) },
  };
}

const chunk = (data: string, stream: 'stdout' | 'stderr' = 'stdout'): LogChunk => ({
  attempt: 1,
  seq: 1,
  stream,
  data,
  at: '2026-11-30T12:00:00Z',
});

describe('writeChunk', () => {
  const red = '\x1b[31mred\x1b[0m\n';

  it.each([
    ['at a terminal: escaped', true, false, '\\x1b[31mred\\x1b[0m\n'],
    ['at a terminal with --raw: as stored', true, true, red],
    ['to a pipe: as stored', false, false, red],
  ])('%s', (_what, isTTY, raw, expected) => {
    const s = streams(isTTY);
    writeChunk({ output: 'table' }, chunk(red), { streams: s, raw });
    expect(s.out).toEqual([expected]);
  });

  it('writes stderr output to stderr, a bidi override escaped', () => {
    const s = streams(true);
    writeChunk({ output: 'table' }, chunk('\u202Eevil\n', 'stderr'), { streams: s });
    expect(s.err).toEqual(['\\u202eevil\n']);
    expect(s.out).toEqual([]);
  });

  it('leaves -o json as it was: one JSON line per chunk, on stdout', () => {
    const s = streams(true);
    writeChunk({ output: 'json' }, chunk(red, 'stderr'), { streams: s });
    expect(s.out).toEqual([`${JSON.stringify(chunk(red, 'stderr'))}\n`]);
  });

  it('writes output that is not UTF-8 as its bytes to a pipe or with --raw, and as \\xHH at a terminal', () => {
    const printed = Buffer.from([0x1b, 0x61, 0x00, 0x62, 0xff, 0x63]);
    const binary: LogChunk = { ...chunk(printed.toString('base64')), encoding: 'base64' };
    const terminal = streams(true);
    writeChunk({ output: 'table' }, binary, { streams: terminal });
    expect(terminal.out).toEqual(['\\x1ba\\x00b\\xffc']);
    for (const [isTTY, raw] of [
      [false, false],
      [true, true],
    ]) {
      const s = streams(isTTY as boolean);
      writeChunk({ output: 'table' }, binary, { streams: s, raw: raw as boolean });
      expect(s.out.map((b) => Buffer.from(b))).toEqual([printed]);
    }
  });
});
