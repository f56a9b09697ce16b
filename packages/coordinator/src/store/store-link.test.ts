import { describe, expect, it } from 'vitest';
import { StoreLink } from './store-link.js';

const unreachable = Object.assign(new Error('database "x" is not currently accepting connections'), { code: '55000' });

describe('StoreLink', () => {
  it('counts as up from its creation', () => {
    let t = 100;
    const link = new StoreLink(() => t);
    t = 350;
    expect(link.upForMs()).toBe(250);
  });

  it('is down after an unreachable store until the next success, then up from it', () => {
    let t = 0;
    const link = new StoreLink(() => t);
    t = 1000;
    link.failed(unreachable);
    t = 5000;
    expect(link.upForMs()).toBe(0);
    link.succeeded();
    t = 5400;
    link.succeeded();
    expect(link.upForMs()).toBe(400);
  });

  it('ignores failures of a query on its own merits', () => {
    let t = 0;
    const link = new StoreLink(() => t);
    t = 1000;
    link.failed(Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' }));
    expect(link.upForMs()).toBe(1000);
  });
});
