import fc from 'fast-check';
import { decodeLogData, type LogEvent } from '@drover/shared';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LogChunker } from './log-chunker.js';

function chunker(opts: { chunkBytes?: number } = {}) {
  const events: LogEvent[] = [];
  const c = new LogChunker({ runId: 'R', token: 4, emit: (e) => events.push(e), now: () => 1000, ...opts });
  return { c, events };
}

describe('LogChunker', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('batches small writes of one stream into one chunk after the delay', () => {
    const { c, events } = chunker();
    for (let i = 0; i < 100; i++) c.write('stdout', `line ${i}\n`);
    expect(events).toHaveLength(0);
    vi.advanceTimersByTime(25);
    expect(events).toHaveLength(1);
    expect(events[0]).toEqual({
      kind: 'log',
      runId: 'R',
      token: 4,
      seq: 0,
      stream: 'stdout',
      data: Array.from({ length: 100 }, (_, i) => `line ${i}\n`).join(''),
      at: 1000,
    });
  });

  it('numbers chunks from 0 across both streams and keeps their interleaving', () => {
    const { c, events } = chunker();
    c.write('stdout', 'one\n');
    c.write('stderr', 'two\n');
    c.write('stderr', 'three\n');
    c.write('stdout', 'four\n');
    c.flush();
    expect(events.map((e) => [e.seq, e.stream, e.data])).toEqual([
      [0, 'stdout', 'one\n'],
      [1, 'stderr', 'two\nthree\n'],
      [2, 'stdout', 'four\n'],
    ]);
  });

  it('cuts a chunk as soon as it reaches the size limit, without waiting', () => {
    const { c, events } = chunker();
    const big = 'x'.repeat(40 * 1024);
    c.write('stdout', big);
    expect(events.map((e) => e.data.length)).toEqual([16 * 1024, 16 * 1024]);
    c.flush();
    expect(events.map((e) => e.data).join('')).toBe(big);
    expect(events.map((e) => e.seq)).toEqual([0, 1, 2]);
  });

  it('never splits a UTF-8 character between chunks', () => {
    const { c, events } = chunker({ chunkBytes: 5 });
    const text = 'añb€c😀d';
    // Byte by byte, as a pipe may deliver it.
    for (const byte of Buffer.from(text)) c.write('stdout', Buffer.from([byte]));
    c.flush();
    expect(events.map((e) => e.data).join('')).toBe(text);
    for (const e of events) expect(e.data).not.toContain('\uFFFD');
  });

  it('keeps an unfinished character of one stream for its next write when the other stream speaks', () => {
    const { c, events } = chunker();
    const euro = Buffer.from('€');
    c.write('stdout', euro.subarray(0, 1));
    c.write('stderr', 'err\n');
    c.write('stdout', euro.subarray(1));
    c.flush();
    expect(events.map((e) => [e.stream, e.data])).toEqual([
      ['stderr', 'err\n'],
      ['stdout', '€'],
    ]);
  });

  it('emits everything pending on flush, and nothing more afterwards', () => {
    const { c, events } = chunker();
    c.write('stderr', 'tail without newline');
    c.flush();
    expect(events).toHaveLength(1);
    vi.advanceTimersByTime(1000);
    expect(events).toHaveLength(1);
    expect(c.nextSeq).toBe(1);
  });

  it('reproduces arbitrary interleaved output exactly, in order', () => {
    const { c, events } = chunker({ chunkBytes: 64 });
    const expected: Array<[string, string]> = [];
    for (let i = 0; i < 500; i++) {
      const stream = i % 7 < 4 ? 'stdout' : 'stderr';
      const data = `${stream}-${i}-${'é'.repeat(i % 13)}\n`;
      expected.push([stream, data]);
      c.write(stream, data);
      if (i % 50 === 0) vi.advanceTimersByTime(25);
    }
    c.flush();
    expect(events.map((e, i) => e.seq - i)).toEqual(events.map(() => 0));
    const byStream = (s: string, pairs: Array<[string, string]>) =>
      pairs
        .filter(([x]) => x === s)
        .map(([, d]) => d)
        .join('');
    const got = events.map((e) => [e.stream, e.data] as [string, string]);
    expect(byStream('stdout', got)).toBe(byStream('stdout', expected));
    expect(byStream('stderr', got)).toBe(byStream('stderr', expected));
    expect(got.map(([, d]) => d).join('')).toBe(expected.map(([, d]) => d).join(''));
  });

  it('sends bytes that are not text (NUL, invalid UTF-8) as base64, and text as text', () => {
    const { c, events } = chunker();
    c.write('stdout', Buffer.from('a\0b\xffc', 'latin1'));
    c.flush();
    c.write('stderr', 'plain\n');
    c.flush();
    expect(events.map((e) => [e.stream, e.data, e.encoding])).toEqual([
      ['stdout', Buffer.from('a\0b\xffc', 'latin1').toString('base64'), 'base64'],
      ['stderr', 'plain\n', undefined],
    ]);
  });

  it('keeps the bytes of a character cut off at the end as they are, not as U+FFFD', () => {
    const { c, events } = chunker();
    c.write('stdout', Buffer.from('€').subarray(0, 2));
    c.flush();
    expect(events.map((e) => bytesOf(e))).toEqual([Buffer.from('€').subarray(0, 2)]);
  });

  it('reproduces any bytes of both streams exactly, whatever the writes and chunk size (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('stdout' as const, 'stderr' as const), fc.uint8Array({ maxLength: 40 }), fc.boolean())),
        fc.integer({ min: 4, max: 64 }),
        (writes, chunkBytes) => {
          const { c, events } = chunker({ chunkBytes });
          for (const [stream, bytes, tick] of writes) {
            c.write(stream, Buffer.from(bytes));
            if (tick) vi.advanceTimersByTime(25);
          }
          c.flush();
          for (const stream of ['stdout', 'stderr'] as const) {
            const sent = Buffer.concat(writes.filter(([s]) => s === stream).map(([, b]) => Buffer.from(b)));
            const got = Buffer.concat(events.filter((e) => e.stream === stream).map(bytesOf));
            expect(got.equals(sent)).toBe(true);
          }
          expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
          // Text chunks are what PostgreSQL text can hold.
          for (const e of events) if (e.encoding === undefined) expect(e.data.includes('\0')).toBe(false);
        },
      ),
    );
  });
});

function bytesOf(e: LogEvent): Buffer {
  const bytes = decodeLogData(e.data, e.encoding);
  if (typeof bytes === 'string') throw new Error(bytes);
  return bytes;
}
