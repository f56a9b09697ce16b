import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeLogData, encodeReportedLogData, encodeServedLogData } from './log-data.js';

describe('log data', () => {
  it('round-trips any bytes, both ways of encoding (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        for (const encode of [encodeReportedLogData, encodeServedLogData]) {
          const { data, encoding } = encode(bytes);
          const back = decodeLogData(data, encoding);
          expect(typeof back === 'string' ? back : [...back]).toEqual([...bytes]);
        }
      }),
    );
  });

  it('sends text as text, and NUL or invalid UTF-8 as base64 (a served chunk keeps NUL as text)', () => {
    expect(encodeReportedLogData(Buffer.from('héllo\n'))).toEqual({ data: 'héllo\n' });
    expect(encodeReportedLogData(Buffer.from('a\0b'))).toEqual({ data: 'YQBi', encoding: 'base64' });
    expect(encodeServedLogData(Buffer.from('a\0b'))).toEqual({ data: 'a\0b' });
    expect(encodeServedLogData(Buffer.from([0x61, 0xff]))).toEqual({ data: 'Yf8=', encoding: 'base64' });
  });

  it('refuses what is not a chunk: no string, an unknown encoding, base64 with stray characters', () => {
    expect(decodeLogData(42, undefined)).toBe('its data is not a string');
    expect(decodeLogData('x', 'hex')).toMatch(/encoding "hex" is not base64/);
    expect(decodeLogData('YQ!B', 'base64')).toBe('its data is not valid base64');
  });
});
