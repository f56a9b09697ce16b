import { expect, it } from 'vitest';
import { canHearForMs } from './hearing.js';

it('is the shortest up-time of bus, store and leadership', () => {
  const up = (ms: number) => ({ upForMs: () => ms });
  expect(canHearForMs({ bus: up(9000), store: up(2000), ledForMs: () => 5000 })).toBe(2000);
  expect(canHearForMs({ bus: up(0), store: up(2000), ledForMs: () => 5000 })).toBe(0);
  expect(canHearForMs({ ledForMs: () => 700 })).toBe(700);
});
