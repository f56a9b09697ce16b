import { describe, expect, it } from 'vitest';
import type { LogChunk } from '@drover/client';
import { writeChunk, type OutputStreams } from './logs.js';

function streams(isTTY: boolean): OutputStreams & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: { isTTY, write: (t: string) => out.push(t) }, stderr: { isTTY, write: (t: string) => err.push(t) } };
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
});
