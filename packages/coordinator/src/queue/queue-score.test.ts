import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ulid } from 'ulid';
import { queueScore } from './ready-queue.js';

describe('queueScore', () => {
  it('puts higher priority first, then older runs first', () => {
    const t = Date.parse('2026-11-22T12:00:00Z');
    const older = ulid(t);
    const newer = ulid(t + 1);
    expect(queueScore(90, newer)).toBeLessThan(queueScore(10, older));
    expect(queueScore(50, older)).toBeLessThan(queueScore(50, newer));
  });

  it('orders any two runs by (priority desc, creation time asc), exactly', () => {
    const time = fc.integer({ min: Date.parse('2020-01-01T00:00:00Z'), max: Date.parse('2080-01-01T00:00:00Z') });
    const priority = fc.integer({ min: 0, max: 100 });
    fc.assert(
      fc.property(priority, time, priority, time, (p1, t1, p2, t2) => {
        const a = queueScore(p1, ulid(t1));
        const b = queueScore(p2, ulid(t2));
        expect(Number.isSafeInteger(a) && Number.isSafeInteger(b)).toBe(true);
        const expected = p1 !== p2 ? Math.sign(p2 - p1) : Math.sign(t1 - t2);
        expect(Math.sign(a - b)).toBe(expected);
      }),
    );
  });
});
