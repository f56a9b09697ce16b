import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OptionsError } from '@drover/shared';
import { compileDevOptions } from './dev-settings.js';

const dir = mkdtempSync(path.join(tmpdir(), 'drover-dev-settings-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A --config file holding these settings. */
function configFile(settings: Record<string, unknown>): string {
  const file = path.join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(settings));
  return file;
}

describe('drover dev settings', () => {
  it('read a flag, then the environment, then the --config file, then the default', () => {
    const env = { DROVER_API_ADDR: '127.0.0.1:7402' };
    const config = configFile({ 'api-addr': '127.0.0.1:7403' });
    expect(compileDevOptions({ apiAddr: '127.0.0.1:7401' }, env).apiAddr).toBe('127.0.0.1:7401');
    expect(compileDevOptions({ apiAddr: '127.0.0.1:7401', config }, env).apiAddr).toBe('127.0.0.1:7401');
    expect(compileDevOptions({ config }, env).apiAddr).toBe('127.0.0.1:7402');
    expect(compileDevOptions({ config }, {}).apiAddr).toBe('127.0.0.1:7403');
    expect(compileDevOptions({}, {}).apiAddr).toBe('127.0.0.1:7400');
  });

  it('let --no-examples win over DROVER_EXAMPLES, and read booleans from the environment', () => {
    expect(compileDevOptions({ examples: false }, { DROVER_EXAMPLES: 'true' }).examples).toBe(false);
    expect(compileDevOptions({}, { DROVER_EXAMPLES: 'false' }).examples).toBe(false);
    expect(compileDevOptions({}, {}).examples).toBe(true);
    expect(compileDevOptions({}, { DROVER_EPHEMERAL: '1' }).ephemeral).toBe(true);
  });

  it("are not redirected to a cluster's servers by the cluster's variables", () => {
    const cluster = {
      DROVER_DATABASE_URL: 'postgres://db.example.invalid/drover',
      DROVER_REDIS_URL: 'redis://redis.example.invalid',
      DROVER_NATS_URL: 'nats://nats.example.invalid:4222',
      DROVER_CLUSTER: 'prod',
      DROVER_NAMESPACE: 'prod',
    };
    const o = compileDevOptions({}, cluster);
    expect([o.database, o.redis, o.listen, o.cluster]).toEqual([undefined, undefined, undefined, 'drover']);
    const dev = compileDevOptions({}, { DROVER_DEV_LISTEN: 'nats://127.0.0.1:4222', DROVER_DEV_CLUSTER: 'mine' });
    expect([dev.listen, dev.cluster]).toEqual(['nats://127.0.0.1:4222', 'mine']);
    expect(compileDevOptions({ nats: 'nats://127.0.0.1:4223' }, {}).listen).toBe('nats://127.0.0.1:4223');
  });

  it('refuse a bad value as a mistake on the command line, naming the flag and the variable', () => {
    const bad = () => compileDevOptions({}, { DROVER_API_ADDR: 'localhost' });
    expect(bad).toThrow(OptionsError);
    expect(bad).toThrow(/DROVER_API_ADDR.*--api-addr|--api-addr.*DROVER_API_ADDR/);
    expect(() => compileDevOptions({ logFormat: 'fancy' }, {})).toThrow(/--log-format.*auto, json, pretty/);
  });
});
