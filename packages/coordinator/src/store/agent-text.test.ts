import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { storableEvent, storableJson, storableLogData, storableText } from './agent-text.js';
import type { FinishedEvent } from '@drover/shared';

const LONE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function finishedOf(over: Partial<FinishedEvent>): FinishedEvent {
  return {
    kind: 'finished',
    runId: 'R',
    token: 1,
    at: 1,
    outcome: 'failed',
    exitCode: 1,
    signal: null,
    error: null,
    durationMs: 5,
    cpuTimeMs: null,
    peakMemoryBytes: null,
    httpStatus: null,
    outputBytes: 0,
    droppedBytes: 0,
    lastLines: [],
    ...over,
  };
}

describe('agent text', () => {
  it('replaces NUL and lone surrogates with U+FFFD, keeps everything else (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        const text = `${a}\u0000${b}\ud800`;
        const out = storableText(text);
        expect(out.includes('\u0000')).toBe(false);
        expect(LONE.test(out)).toBe(false);
        expect(storableText(out)).toBe(out);
        if (!LONE.test(a) && !a.includes('\u0000')) expect(storableText(a)).toBe(a);
      }),
    );
    expect(storableText('😀 ok')).toBe('😀 ok');
    expect(storableText('a\u0000b\udc00c\ud83d')).toBe('a\uFFFDb\uFFFDc\uFFFD');
  });

  it('passes text chunks through, turns unstorable text into base64 of its UTF-8, checks base64', () => {
    expect(storableLogData('héllo', undefined)).toEqual({ data: 'héllo', base64: false });
    expect(storableLogData('a\u0000b', undefined)).toEqual({ data: Buffer.from('a\0b').toString('base64'), base64: true });
    expect(storableLogData('YQBi', 'base64')).toEqual({ data: 'YQBi', base64: true });
    expect(storableLogData('YQ B', 'base64')).toBe('its data is not valid base64');
    expect(storableLogData(7, undefined)).toBe('its data is not a string');
  });

  it("makes a finished event's displayed text storable, nothing else", () => {
    const e = storableEvent(finishedOf({ error: 'bad\u0000', lastLines: ['a\u0000b', 'ok'] }));
    expect(e).toMatchObject({ error: 'bad\uFFFD', lastLines: ['a\uFFFDb', 'ok'], durationMs: 5 });
  });

  it('makes every string of a registration storable, keys included, and copies nothing when none needs it', () => {
    const clean = { name: 'a', labels: { region: 'eu' }, executors: ['exec'], total: { slots: 2 } };
    expect(storableJson(clean)).toBe(clean);
    expect(
      storableJson({ name: 'a\u0000', labels: { 'k\u0000': 'v\ud800' }, executors: ['x', 'y\u0000'], n: 1, ok: true, none: null }),
    ).toEqual({
      name: 'a\uFFFD',
      labels: { 'k\uFFFD': 'v\uFFFD' },
      executors: ['x', 'y\uFFFD'],
      n: 1,
      ok: true,
      none: null,
    });
  });
});
