import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { inputErrors, MAX_INPUT_DEPTH } from './input-guard.js';

/** `value` with `leaf` put at the end of `path` (objects made as needed). */
function withLeaf(path: string[], leaf: unknown): unknown {
  return path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), leaf);
}

const key = fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/);

describe('inputErrors', () => {
  it('passes every NUL-free value nested less deeply than the limit', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), (v) => {
        fc.pre(!JSON.stringify(v).includes('\\u0000'));
        expect(inputErrors(v, '')).toEqual([]);
      }),
      { seed: 15, numRuns: 300 },
    );
  });

  it('names the field of a NUL anywhere in a body, in a value or in a key', () => {
    fc.assert(
      fc.property(fc.array(key, { minLength: 1, maxLength: 6 }), fc.string({ maxLength: 5 }), fc.boolean(), (path, text, inKey) => {
        const body = inKey ? withLeaf([...path.slice(0, -1), `${path.at(-1)}\u0000`], 1) : withLeaf(path, `${text}\u0000${text}`);
        const errors = inputErrors(body, '');
        expect(errors).toHaveLength(1);
        expect(errors[0]!.field).toBe(inKey ? `${path.join('.')}\u0000` : path.join('.'));
        expect(errors[0]!.message).toContain('NUL');
      }),
      { seed: 15, numRuns: 300 },
    );
  });

  it('refuses nesting past the limit without recursing, however deep', () => {
    const deep = JSON.parse('['.repeat(200_000) + ']'.repeat(200_000)) as unknown;
    expect(inputErrors(deep, 'body')).toEqual([
      { field: `body${'.0'.repeat(MAX_INPUT_DEPTH)}`, message: expect.stringContaining('nested deeper') },
    ]);
    expect(
      inputErrors(
        withLeaf(
          Array.from({ length: MAX_INPUT_DEPTH - 1 }, () => 'a'),
          {},
        ),
        '',
      ),
    ).toEqual([]);
  });
});

describe('inputErrors on numbers', () => {
  it('refuses what is not finite, anywhere', () => {
    expect(inputErrors({ limit: Infinity }, '')).toEqual([{ field: 'limit', message: expect.stringContaining('not a finite number') }]);
    expect(inputErrors({ runs: [{ count: -Infinity }] }, '').map((e) => e.field)).toEqual(['runs.0.count']);
    expect(inputErrors({ priority: NaN, cpu: 0.5 }, '').map((e) => e.field)).toEqual(['priority']);
  });
});
