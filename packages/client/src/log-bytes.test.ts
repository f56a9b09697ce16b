import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { byteEscape, chunkBytes, utf8Pieces } from './log-bytes.js';

const join = (pieces: Array<string | number>) =>
  Buffer.concat(pieces.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from([p]))));

describe('log bytes', () => {
  it('reads a chunk back as its bytes, text or base64', () => {
    expect([...chunkBytes({ data: 'é\n' })]).toEqual([0xc3, 0xa9, 0x0a]);
    expect([...chunkBytes({ data: 'YQBi/2M=', encoding: 'base64' })]).toEqual([0x61, 0x00, 0x62, 0xff, 0x63]);
  });

  it('splits out exactly the bytes that are not UTF-8', () => {
    expect(utf8Pieces(Buffer.from([0x61, 0x00, 0x62, 0xff, 0x63]))).toEqual(['a\u0000b', 0xff, 'c']);
    // A cut-off euro sign, an overlong slash, a UTF-16 surrogate encoded: none of them is text.
    expect(utf8Pieces(Buffer.from([0xe2, 0x82, 0x41, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xe2, 0x82, 0xac]))).toEqual([
      0xe2,
      0x82,
      'A',
      0xc0,
      0xaf,
      0xed,
      0xa0,
      0x80,
      '€',
    ]);
    expect(byteEscape(0xff)).toBe('\\xff');
  });

  it('puts any bytes back together, with text pieces that are valid UTF-8 (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const pieces = utf8Pieces(bytes);
        expect(join(pieces).equals(Buffer.from(bytes))).toBe(true);
        const fatal = new TextDecoder('utf-8', { fatal: true });
        for (const p of pieces) if (typeof p === 'string') expect(fatal.decode(Buffer.from(p, 'utf8'))).toBe(p);
      }),
    );
  });

  it('leaves valid UTF-8 whole (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1 }), (text) => {
        expect(utf8Pieces(Buffer.from(text, 'utf8'))).toEqual([text]);
      }),
    );
  });
});
