import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { TokenRecord } from '../store/tokens.js';
import { THROTTLED_TOKEN_TRUST_MS, TOKEN_CACHE_MS, TokenResolver, type TokenStore } from './auth.js';
import { Lru } from './lru.js';

function record(id: string, expiresAt: string | null = null): TokenRecord {
  return { id, name: id, role: 'viewer', namespaces: ['a'], createdBy: null, createdAt: '', expiresAt, revokedAt: null, lastUsedAt: null };
}

/** A resolver over an in-memory store that counts look-ups, with a clock the test moves. */
function setup(max = 10) {
  const tokens = new Map<string, TokenRecord>();
  const finds: string[] = [];
  const touches: string[] = [];
  const store: TokenStore = {
    find: async (secret) => {
      finds.push(secret);
      return tokens.get(secret);
    },
    touch: async (id) => touches.push(id),
  };
  const clock = { now: 1_000_000 };
  const ctx = { log: pino({ level: 'silent' }), now: () => clock.now, db: undefined as never };
  return { resolver: new TokenResolver(ctx, store, max), tokens, finds, touches, clock };
}

describe('TokenResolver', () => {
  it('keeps a resolved token for TOKEN_CACHE_MS, then asks the store again', async () => {
    const { resolver, tokens, finds, clock } = setup();
    tokens.set('s1', record('t1'));
    expect((await resolver.resolve('s1'))?.id).toBe('t1');
    expect((await resolver.resolve('s1'))?.id).toBe('t1');
    expect(finds).toEqual(['s1']);
    clock.now += TOKEN_CACHE_MS + 1;
    tokens.delete('s1'); // revoked elsewhere
    expect(await resolver.resolve('s1')).toBeUndefined();
    expect(finds).toEqual(['s1', 's1']);
  });

  it('does not cache misses: a token created since is found at once', async () => {
    const { resolver, tokens, finds } = setup();
    expect(await resolver.resolve('new')).toBeUndefined();
    tokens.set('new', record('t-new'));
    expect((await resolver.resolve('new'))?.id).toBe('t-new');
    expect(finds).toEqual(['new', 'new']);
  });

  it('evicts the least recently used token when full, not every token', async () => {
    const { resolver, tokens, finds } = setup(3);
    for (const s of ['a', 'b', 'c', 'd']) tokens.set(s, record(`t-${s}`));
    for (const s of ['a', 'b', 'c']) await resolver.resolve(s);
    await resolver.resolve('a'); // a is now the most recently used
    await resolver.resolve('d'); // evicts b
    finds.length = 0;
    for (const s of ['a', 'c', 'd']) await resolver.resolve(s);
    expect(finds).toEqual([]);
    await resolver.resolve('b');
    expect(finds).toEqual(['b']);
  });

  it('answers a throttled caller from the cache alone, within THROTTLED_TOKEN_TRUST_MS', async () => {
    const { resolver, tokens, finds, clock } = setup();
    tokens.set('known', record('t-known'));
    tokens.set('unseen', record('t-unseen'));
    await resolver.resolve('known');
    clock.now += TOKEN_CACHE_MS + 1;
    expect(resolver.cached('known', THROTTLED_TOKEN_TRUST_MS)?.id).toBe('t-known');
    expect(resolver.cached('unseen', THROTTLED_TOKEN_TRUST_MS)).toBeUndefined();
    clock.now += THROTTLED_TOKEN_TRUST_MS;
    expect(resolver.cached('known', THROTTLED_TOKEN_TRUST_MS)).toBeUndefined();
    expect(finds).toEqual(['known']);
  });

  it('refuses an expired token from the cache, forgets a revoked one, and records use once a minute', async () => {
    const { resolver, tokens, finds, touches, clock } = setup();
    tokens.set('soon', record('t-soon', new Date(clock.now + 1000).toISOString()));
    tokens.set('r', record('t-r'));
    expect((await resolver.resolve('soon'))?.id).toBe('t-soon');
    clock.now += 1000;
    expect(await resolver.resolve('soon')).toBeUndefined();
    await resolver.resolve('r');
    await resolver.resolve('r');
    expect(touches).toEqual(['t-soon', 't-r']);
    resolver.forget('t-r');
    await resolver.resolve('r');
    expect(finds.filter((s) => s === 'r')).toHaveLength(2);
  });
});

describe('Lru', () => {
  it('keeps at most max entries, evicting the least recently used', () => {
    const lru = new Lru<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.get('a')).toBe(1);
    lru.set('c', 3);
    expect([...lru.entries()].map(([k]) => k)).toEqual(['a', 'c']);
    expect(lru.size).toBe(2);
    expect(() => new Lru(0)).toThrow(RangeError);
  });
});
