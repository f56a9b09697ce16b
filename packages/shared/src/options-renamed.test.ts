// A renamed setting (`formerly`) is still read under its old flag, env var and file key for
// one release, with a warning naming the new one; both names with different values are an error.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileOptions, OptionsError, parse, type OptionSources, type SettingsSpec } from './options.js';

const spec = {
  cluster: {
    flag: 'cluster',
    env: 'DROVER_CLUSTER',
    defaultText: 'drover',
    description: 'Cluster name.',
    formerly: { flag: 'namespace', env: 'DROVER_NAMESPACE' },
    parse: parse.string,
  },
  apiAddr: {
    flag: 'api-addr',
    env: 'DROVER_API_ADDR',
    description: 'API.',
    formerly: { flag: 'listen-addr', env: 'DROVER_LISTEN' },
    parse: parse.string,
  },
} satisfies SettingsSpec;

const dir = mkdtempSync(join(tmpdir(), 'drover-options-renamed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
function optionsFile(content: unknown): string {
  const path = join(dir, `options-${++files}.json`);
  writeFileSync(path, JSON.stringify(content));
  return path;
}

/** Compiles with an empty environment, collecting the warnings. */
function compile(sources: OptionSources): { cluster: string; apiAddr: string | undefined; warnings: string[] } {
  const warnings: string[] = [];
  const options = compileOptions(spec, { env: {}, ...sources, warn: (message) => warnings.push(message) });
  return { cluster: options.cluster, apiAddr: options.apiAddr, warnings };
}

describe('a renamed setting', () => {
  it('reads the new name without a warning', () => {
    expect(compile({ flags: { cluster: 'a' }, env: { DROVER_CLUSTER: 'b' } })).toEqual({ cluster: 'a', apiAddr: undefined, warnings: [] });
  });

  it.each<[string, () => OptionSources, string, string]>([
    ['the old flag', () => ({ flags: { namespace: 'prod' } }), '--namespace', '--cluster'],
    ['the old env var', () => ({ env: { DROVER_NAMESPACE: 'prod' } }), 'DROVER_NAMESPACE', 'DROVER_CLUSTER'],
    ['the old file key', () => ({ file: optionsFile({ namespace: 'prod' }) }), 'namespace in', 'cluster in'],
  ])('reads %s, warning that it is deprecated and naming the replacement', (_case, sources, old, replacement) => {
    const { cluster, warnings } = compile(sources());
    expect(cluster).toBe('prod');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`${old}`);
    expect(warnings[0]).toMatch(/deprecated/);
    expect(warnings[0]).toContain(`use ${replacement}`);
  });

  it('reads an old kebab-case flag by commander’s camelCase key too', () => {
    expect(compile({ flags: { listenAddr: 'x:1' } })).toMatchObject({
      apiAddr: 'x:1',
      warnings: [expect.stringContaining('--listen-addr')],
    });
  });

  it('accepts both names with the same value, still warning', () => {
    const { cluster, warnings } = compile({ flags: { cluster: 'prod', namespace: 'prod' } });
    expect(cluster).toBe('prod');
    expect(warnings).toEqual([expect.stringContaining('--namespace is deprecated')]);
  });

  it.each<[string, () => OptionSources, RegExp]>([
    ['flags', () => ({ flags: { cluster: 'a', namespace: 'b' } }), /keep --cluster and remove --namespace/],
    ['env vars', () => ({ env: { DROVER_CLUSTER: 'a', DROVER_NAMESPACE: 'b' } }), /keep DROVER_CLUSTER and remove DROVER_NAMESPACE/],
    ['file keys', () => ({ file: optionsFile({ cluster: 'a', namespace: 'b' }) }), /keep cluster in .* and remove namespace in /],
  ])('refuses both %s with different values, saying which to keep', (_case, sources, message) => {
    let thrown: unknown;
    try {
      compile(sources());
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(OptionsError);
    expect((thrown as Error).message).toMatch(message);
    expect((thrown as Error).message).toMatch(/"a", "b"/);
  });

  it('keeps the usual order across places: a new flag beats an old env var (with the warning)', () => {
    expect(compile({ flags: { cluster: 'a' }, env: { DROVER_NAMESPACE: 'b' } })).toMatchObject({ cluster: 'a' });
    expect(compile({ flags: { namespace: 'a' }, env: { DROVER_CLUSTER: 'b' } })).toMatchObject({ cluster: 'a' });
  });

  it('writes the warning to stderr when no `warn` is given', () => {
    const written: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => written.push(chunk) > 0) as typeof process.stderr.write;
    try {
      compileOptions(spec, { env: { DROVER_NAMESPACE: 'prod' } });
    } finally {
      process.stderr.write = original;
    }
    expect(written).toEqual([
      'drover: warning: DROVER_NAMESPACE is deprecated and will stop working in the next release: use DROVER_CLUSTER\n',
    ]);
  });
});
