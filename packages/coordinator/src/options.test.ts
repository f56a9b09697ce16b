import { describe, expect, it } from 'vitest';
import { compileCoordinatorOptions } from './options.js';

const compile = (flags: Record<string, string>) => compileCoordinatorOptions({ flags, env: {} });

describe('Redis Sentinel settings', () => {
  it('reads the Sentinels as host:port pairs, the master name defaulting to mymaster', () => {
    const o = compile({ 'redis-sentinels': '10.0.0.1:26379, s2:26380' });
    expect(o.redisSentinels).toEqual([
      { host: '10.0.0.1', port: 26379 },
      { host: 's2', port: 26380 },
    ]);
    expect(o.redisSentinelName).toBe('mymaster');
    expect(compile({}).redisSentinels).toBeUndefined();
  });

  it('refuses a Sentinel without a port, and Sentinels with an in-process queue, naming the setting', () => {
    expect(() => compile({ 'redis-sentinels': '10.0.0.1' })).toThrow(/--redis-sentinels.*must be host:port/);
    expect(() => compile({ 'redis-sentinels': '10.0.0.1:26379', 'redis-url': 'memory' })).toThrow(
      '--redis-sentinels (DROVER_REDIS_SENTINELS) needs Redis',
    );
  });
});
