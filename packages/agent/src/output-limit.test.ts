import type { LogEvent } from '@drover/shared';
import { describe, expect, it } from 'vitest';
import { LAST_LINES_MAX, LAST_LINES_MAX_BYTES, LAST_LINE_MAX_CHARS, LastLines } from './last-lines.js';
import { LogChunker } from './log-chunker.js';
import { OutputLimit, truncationMarker } from './output-limit.js';

function limited(limitBytes: number | undefined) {
  const logs: LogEvent[] = [];
  const limit = new OutputLimit(new LogChunker({ runId: 'R', token: 1, emit: (e) => logs.push(e) }), limitBytes);
  const text = (stream?: 'stdout' | 'stderr') =>
    logs
      .filter((l) => !stream || l.stream === stream)
      .map((l) => l.data)
      .join('');
  return { limit, logs, text };
}

function lastLinesOf(writes: Array<['stdout' | 'stderr', string]>): string[] {
  const tail = new LastLines();
  for (const [stream, data] of writes) tail.write(stream, Buffer.from(data));
  return tail.result();
}

describe('OutputLimit', () => {
  it('passes output under the limit through whole, with no marker', () => {
    const { limit, text, logs } = limited(100);
    limit.write('stdout', 'hello\n');
    limit.write('stderr', 'oops\n');
    expect(limit.end()).toEqual({ outputBytes: 11, droppedBytes: 0, lastLines: ['hello', 'oops'] });
    expect(text()).toBe('hello\noops\n');
    expect(logs.map((l) => l.seq)).toEqual([0, 1]);
  });

  it('keeps exactly the first limit bytes, counts the rest, and ends the log with a marker on stderr', () => {
    const { limit, logs, text } = limited(12);
    limit.write('stdout', 'aaaa\nbbbb\ncccc\n');
    limit.write('stderr', 'late error\n');
    limit.write('stdout', 'the end');
    const summary = limit.end();
    expect(summary).toEqual({ outputBytes: 33, droppedBytes: 21, lastLines: ['aaaa', 'bbbb', 'cccc', 'late error', 'the end'] });
    const marker = logs.at(-1);
    expect(marker?.stream).toBe('stderr');
    // The kept part ends mid-line, so the marker starts a line of its own.
    expect(marker?.data).toBe(`\n${truncationMarker(12, 33, 12)}`);
    expect(text().slice(0, -(marker?.data.length ?? 0))).toBe('aaaa\nbbbb\ncc');
    expect(logs.map((l) => l.seq)).toEqual(logs.map((_, i) => i));
  });

  it('puts the marker right after a kept part that ends a line', () => {
    const { limit, logs } = limited(10);
    limit.write('stdout', 'aaaa\nbbbb\ncccc\n');
    limit.end();
    expect(logs.at(-1)?.data).toBe(truncationMarker(10, 15, 10));
  });

  it('words the marker with sizes an operator reads', () => {
    const MiB = 1024 * 1024;
    expect(truncationMarker(10 * MiB, 50 * MiB, 10 * MiB)).toBe(
      "[drover] output truncated: kept the first 10MiB of 50MiB; 40MiB dropped (the job's logLimit is 10MiB)\n",
    );
  });

  it('cuts on a character boundary and keeps nothing after the first drop', () => {
    const { limit, text } = limited(5);
    limit.write('stdout', 'abcd€'); // € is 3 bytes: only "abcd" fits
    limit.write('stdout', 'e'); // would fit in the byte left, but the log must stay a prefix
    expect(limit.end()).toMatchObject({ outputBytes: 8, droppedBytes: 4 });
    expect(text('stdout')).toBe('abcd');
  });

  it('uses the default limit (10 MiB) when the offer names none', () => {
    expect(limited(undefined).limit.limitBytes).toBe(10 * 1024 * 1024);
  });
});

describe('LastLines', () => {
  it('keeps the last 20 lines, the unfinished last one included', () => {
    const lines = Array.from({ length: 50 }, (_, i) => `line ${i}`);
    expect(lastLinesOf([['stdout', lines.join('\n')]])).toEqual(lines.slice(-LAST_LINES_MAX));
    // The same, written a byte at a time.
    expect(lastLinesOf([...lines.join('\n')].map((c) => ['stdout', c] as ['stdout', string]))).toEqual(lines.slice(-LAST_LINES_MAX));
  });

  it('keeps empty lines and strips the carriage return of CRLF', () => {
    expect(lastLinesOf([['stdout', 'a\r\n\r\nb\n\n']])).toEqual(['a', '', 'b', '']);
  });

  it('does not splice a stderr line into a stdout line written around it', () => {
    expect(
      lastLinesOf([
        ['stdout', 'progress: 5'],
        ['stderr', 'warning: slow\n'],
        ['stdout', '0%\n'],
      ]),
    ).toEqual(['warning: slow', 'progress: 50%']);
  });

  it('cuts a long line to 500 characters, counting characters, not bytes', () => {
    const [ascii] = lastLinesOf([['stdout', 'x'.repeat(100_000) + '\n']]);
    expect(ascii).toBe('x'.repeat(LAST_LINE_MAX_CHARS - 1) + '…');
    const [wide] = lastLinesOf([['stdout', '😀'.repeat(600)]]);
    expect([...(wide ?? '')]).toHaveLength(LAST_LINE_MAX_CHARS);
    expect(wide?.startsWith('😀'.repeat(LAST_LINE_MAX_CHARS - 1))).toBe(true);
    const [exact] = lastLinesOf([['stdout', 'y'.repeat(LAST_LINE_MAX_CHARS)]]);
    expect(exact).toBe('y'.repeat(LAST_LINE_MAX_CHARS));
  });

  it('keeps at most 4 KiB in all, dropping the oldest lines', () => {
    const lines = lastLinesOf([['stdout', Array.from({ length: 20 }, (_, i) => `${i}`.padEnd(1000, '.')).join('\n')]]);
    const bytes = lines.reduce((n, l) => n + Buffer.byteLength(l), 0);
    expect(bytes).toBeLessThanOrEqual(LAST_LINES_MAX_BYTES);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.at(-1)?.startsWith('19')).toBe(true);
  });
});
