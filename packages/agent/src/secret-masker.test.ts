import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SecretMasker } from './secret-masker.js';

/** Feeds `pieces` to a masker and returns what each stream received, joined. */
function mask(secrets: string[], pieces: Array<['stdout' | 'stderr', string]>): Record<'stdout' | 'stderr', string> {
  const out = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  const m = new SecretMasker(secrets, (s, d) => out[s].push(Buffer.from(d)));
  for (const [s, p] of pieces) m.write(s, Buffer.from(p));
  m.flush();
  return { stdout: Buffer.concat(out.stdout).toString(), stderr: Buffer.concat(out.stderr).toString() };
}

describe('secret masker', () => {
  it('masks every occurrence', () => {
    expect(mask(['hunter2'], [['stdout', 'pw=hunter2 again hunter2\n']]).stdout).toBe('pw=*** again ***\n');
  });

  it('masks a value split across writes, at every split point', () => {
    const text = 'token: abcdef123456 end';
    for (let i = 0; i <= text.length; i++)
      for (let j = i; j <= text.length; j++) {
        const r = mask(
          ['abcdef123456'],
          [
            ['stdout', text.slice(0, i)],
            ['stdout', text.slice(i, j)],
            ['stdout', text.slice(j)],
          ],
        );
        expect(r.stdout).toBe('token: *** end');
      }
  });

  it('masks a value written a byte at a time, multi-byte characters included', () => {
    const secret = 'sëcret✓';
    const bytes = Buffer.from(`a${secret}b`);
    const out: Buffer[] = [];
    const m = new SecretMasker([secret], (_s, d) => out.push(Buffer.from(d)));
    for (const b of bytes) m.write('stdout', Buffer.from([b]));
    m.flush();
    expect(Buffer.concat(out).toString()).toBe('a***b');
  });

  it('merges overlapping and nested values, so no part of either leaks', () => {
    expect(mask(['abc', 'cde'], [['stdout', 'xabcdey']]).stdout).toBe('x***y');
    expect(
      mask(
        ['abc', 'cde'],
        [
          ['stdout', 'xab'],
          ['stdout', 'cdey'],
        ],
      ).stdout,
    ).toBe('x***y');
    expect(mask(['pass', 'password'], [['stdout', 'my password, my pass']]).stdout).toBe('my ***, my ***');
  });

  it('keeps streams apart: a value is not assembled from stdout and stderr', () => {
    const r = mask(
      ['secret'],
      [
        ['stdout', 'sec'],
        ['stderr', 'ret'],
        ['stdout', 'ret!'],
      ],
    );
    expect(r).toEqual({ stdout: '***!', stderr: 'ret' });
  });

  it('ignores empty values and passes output through untouched when there is nothing to mask', () => {
    expect(mask(['', ''], [['stdout', 'a\x1b[31mred\r\n']]).stdout).toBe('a\x1b[31mred\r\n');
  });

  it('emits a held prefix that never became a value at the end', () => {
    expect(mask(['secret'], [['stdout', 'the sec']]).stdout).toBe('the sec');
  });

  it('never lets a value through, however output is split (property)', () => {
    fc.assert(
      fc.property(
        // Values made of '*' would match the mask itself.
        fc.array(
          fc.string({ minLength: 1, maxLength: 6 }).filter((s) => !s.includes('*')),
          { minLength: 1, maxLength: 3 },
        ),
        fc.array(fc.string({ maxLength: 12 }), { maxLength: 6 }),
        fc.array(fc.nat(40), { maxLength: 6 }),
        (secrets, fillers, cuts) => {
          const text = fillers.map((f, i) => f + (secrets[i % secrets.length] ?? '')).join('');
          const points = [...new Set(cuts.map((c) => Math.min(c, text.length)))].sort((a, b) => a - b);
          const pieces: Array<['stdout', string]> = [];
          let at = 0;
          for (const p of [...points, text.length]) {
            pieces.push(['stdout', text.slice(at, p)]);
            at = p;
          }
          const out = mask(secrets, pieces).stdout;
          for (const s of secrets) expect(out.includes(s)).toBe(false);
        },
      ),
    );
  });

  it('masks a value among invalid UTF-8 and NUL bytes, split anywhere, and passes every other byte through (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 2, maxLength: 8 }).filter((s) => !s.includes('*')),
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 10 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(80), { maxLength: 6 }),
        (secret, noise, cuts) => {
          const value = Buffer.from(secret);
          // Noise bytes never occur in the value, so each value stands alone (adjacent ones would merge into one mask).
          const parts = noise.map((n) => Buffer.from(n.map((b) => (value.includes(b) ? 0xff : b))));
          const text = Buffer.concat(parts.flatMap((p) => [p, value]));
          const points = [...new Set(cuts.map((c) => Math.min(c, text.length)))].sort((a, b) => a - b);
          const out: Buffer[] = [];
          const m = new SecretMasker([secret], (_, d) => out.push(Buffer.from(d)));
          let at = 0;
          for (const p of [...points, text.length]) {
            m.write('stdout', text.subarray(at, p));
            at = p;
          }
          m.flush();
          const expected = Buffer.concat(parts.flatMap((p) => [p, Buffer.from('***')]));
          expect(Buffer.concat(out).equals(expected)).toBe(true);
        },
      ),
    );
  });
});
