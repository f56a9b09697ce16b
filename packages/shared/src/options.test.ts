import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { compileOptions, OptionsError, parse, settingsReference, type OptionSources, type SettingsSpec } from './options.js';

const spec = {
  apiAddr: {
    flag: 'api-addr',
    env: 'DROVER_API_ADDR',
    description: 'Where the REST API listens.',
    defaultText: '127.0.0.1:7400',
    parse: parse.hostPort,
  },
  heartbeat: {
    flag: 'heartbeat-interval',
    env: 'DROVER_HEARTBEAT_INTERVAL',
    description: 'How often agents heartbeat.',
    defaultText: '5s',
    parse: parse.duration,
  },
  maxMemory: { flag: 'max-memory', env: 'DROVER_MAX_MEMORY', description: 'Memory offered to runs.', parse: parse.bytes },
  labels: {
    flag: 'label',
    env: 'DROVER_LABELS',
    description: 'Operator labels, key=value; repeatable.',
    repeatable: true,
    parse: parse.labels,
  },
  allowShell: {
    flag: 'allow-shell',
    env: 'DROVER_ALLOW_SHELL',
    description: 'Run shell jobs.',
    boolean: true,
    defaultText: 'false',
    parse: parse.boolean,
  },
  slots: { flag: 'slots', env: 'DROVER_SLOTS', description: 'Concurrent runs.', defaultText: '4', parse: parse.int(1, 1024) },
  natsUrl: {
    flag: 'nats-url',
    env: 'DROVER_NATS_URL',
    description: 'NATS server.',
    defaultText: 'nats://127.0.0.1:4222',
    parse: parse.url(['nats', 'tls']),
  },
} satisfies SettingsSpec;

const dir = mkdtempSync(join(tmpdir(), 'drover-options-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
/** Writes an options file and returns its path. */
function optionsFile(content: unknown, raw = false): string {
  const path = join(dir, `options-${++fileCount}.json`);
  writeFileSync(path, raw ? String(content) : JSON.stringify(content));
  return path;
}

/** Compiles with an empty environment unless one is given, so the test never reads the real one. */
const compile = (sources: OptionSources = {}) => compileOptions(spec, { env: {}, ...sources });

/** The OptionsError thrown by `fn`; fails the test when nothing is thrown. */
function optionsError(fn: () => unknown): OptionsError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(OptionsError);
    expect((err as OptionsError).code).toBe('BAD_OPTION');
    expect((err as OptionsError).name).toBe('OptionsError');
    return err as OptionsError;
  }
  expect.fail('expected an OptionsError');
}

describe('compileOptions', () => {
  it('uses the defaults when nothing is set, and leaves settings without a default undefined', () => {
    expect(compile()).toEqual({
      apiAddr: { host: '127.0.0.1', port: 7400 },
      heartbeat: 5000,
      maxMemory: undefined,
      labels: {},
      allowShell: false,
      slots: 4,
      natsUrl: 'nats://127.0.0.1:4222',
    });
  });

  it('returns a frozen object', () => {
    expect(Object.isFrozen(compile())).toBe(true);
  });

  it.each<[string, OptionSources, number]>([
    ['default', {}, 4],
    ['file over default', { file: 'file' }, 3],
    ['env over file', { env: { DROVER_SLOTS: '2' }, file: 'file' }, 2],
    ['flag over env and file', { flags: { slots: '1' }, env: { DROVER_SLOTS: '2' }, file: 'file' }, 1],
    ['flag over file', { flags: { slots: '1' }, file: 'file' }, 1],
    ['an empty env var counts as unset', { env: { DROVER_SLOTS: '' }, file: 'file' }, 3],
    ['the last of repeated flags wins for a single-valued setting', { flags: { slots: ['7', '8'] } }, 8],
  ])('precedence: %s', (_name, sources, slots) => {
    const file = sources.file ? optionsFile({ slots: 3 }) : undefined;
    expect(compile({ ...sources, ...(file ? { file } : {}) }).slots).toBe(slots);
  });

  it('reads flags by setting key or by flag name', () => {
    expect(compile({ flags: { apiAddr: '0.0.0.0:80' } }).apiAddr).toEqual({ host: '0.0.0.0', port: 80 });
    expect(compile({ flags: { 'api-addr': '[::1]:8080' } }).apiAddr).toEqual({ host: '::1', port: 8080 });
  });

  it("reads a flag under commander's key for it where the setting's key is spelled otherwise", () => {
    expect(compile({ flags: { heartbeatInterval: '10s' } }).heartbeat).toBe(10_000);
  });

  it('reads a boolean flag given without a value as true', () => {
    expect(compile({ flags: { 'allow-shell': true } }).allowShell).toBe(true);
    expect(compile({ env: { DROVER_ALLOW_SHELL: 'yes' } }).allowShell).toBe(true);
  });

  it('reads JSON numbers, booleans and lists in the options file', () => {
    const file = optionsFile({
      slots: 16,
      'allow-shell': true,
      'max-memory': '2GiB',
      label: ['region=eu', 'pool=gpu'],
      'heartbeat-interval': '250ms',
    });
    expect(compile({ file })).toMatchObject({
      slots: 16,
      allowShell: true,
      maxMemory: 2 ** 31,
      labels: { region: 'eu', pool: 'gpu' },
      heartbeat: 250,
    });
  });

  describe('repeatable labels', () => {
    it.each<[string, OptionSources, Record<string, string>]>([
      ['repeated flags', { flags: { label: ['region=eu', 'pool=gpu'] } }, { region: 'eu', pool: 'gpu' }],
      ['a single flag', { flags: { label: 'region=eu' } }, { region: 'eu' }],
      ['a comma-separated env var', { env: { DROVER_LABELS: 'region=eu, pool=gpu' } }, { region: 'eu', pool: 'gpu' }],
      ['an env var with empty items', { env: { DROVER_LABELS: 'region=eu,,' } }, { region: 'eu' }],
      ['a value containing "="', { flags: { label: 'query=a=b' } }, { query: 'a=b' }],
      ['a later flag replacing an earlier one', { flags: { label: ['region=eu', 'region=us'] } }, { region: 'us' }],
      // Flags replace the env list, they do not merge with it.
      ['flags over env', { flags: { label: ['region=eu'] }, env: { DROVER_LABELS: 'pool=gpu' } }, { region: 'eu' }],
      ['no flags given falls through to env', { flags: { label: [] }, env: { DROVER_LABELS: 'pool=gpu' } }, { pool: 'gpu' }],
    ])('%s', (_name, sources, labels) => {
      expect(compile(sources).labels).toEqual(labels);
    });

    it('rejects an item that is not key=value, naming the flag', () => {
      const err = optionsError(() => compile({ flags: { label: ['region=eu', 'gpu'] } }));
      expect(err.message).toBe('invalid --label (DROVER_LABELS): "gpu" must be key=value, e.g. region=eu');
    });
  });

  describe('a bad value stops with a message naming the setting', () => {
    it.each<[string, OptionSources, string[]]>([
      ['a bad flag', { flags: { slots: 'many' } }, ['--slots', 'DROVER_SLOTS', '"many"', '1 to 1024']],
      ['a flag out of range', { flags: { slots: '0' } }, ['--slots', 'DROVER_SLOTS', '"0"']],
      [
        'a bad env var',
        { env: { DROVER_HEARTBEAT_INTERVAL: 'often' } },
        ['DROVER_HEARTBEAT_INTERVAL', '--heartbeat-interval', '"often"', 'not a duration'],
      ],
      ['a bad size', { env: { DROVER_MAX_MEMORY: 'lots' } }, ['DROVER_MAX_MEMORY', '--max-memory', '"lots"']],
      ['a bad address', { flags: { 'api-addr': 'localhost' } }, ['--api-addr', 'DROVER_API_ADDR', 'host:port']],
      ['a port out of range', { flags: { 'api-addr': 'localhost:70000' } }, ['--api-addr', '"localhost:70000"']],
      [
        'a URL with the wrong scheme',
        { env: { DROVER_NATS_URL: 'http://127.0.0.1:4222' } },
        ['DROVER_NATS_URL', '--nats-url', 'nats:// or tls://'],
      ],
      ['a bad boolean', { env: { DROVER_ALLOW_SHELL: 'maybe' } }, ['DROVER_ALLOW_SHELL', '--allow-shell', '"maybe"']],
    ])('%s', (_name, sources, parts) => {
      const err = optionsError(() => compile(sources));
      for (const part of parts) expect(err.message).toContain(part);
    });

    it('a bad value in the file names the file, the flag and the env var', () => {
      const file = optionsFile({ slots: 'lots' });
      expect(optionsError(() => compile({ file })).message).toBe(
        `invalid slots in ${file} (--slots, DROVER_SLOTS): "lots" must be a whole number from 1 to 1024`,
      );
    });

    it('a bad value that is overridden by a higher source is not read', () => {
      expect(compile({ flags: { slots: '2' }, env: { DROVER_SLOTS: 'many' } }).slots).toBe(2);
    });
  });

  describe('a list of URLs', () => {
    const urls = parse.urls(['nats', 'tls']);

    it('keeps every node of a cluster, trimmed', () => {
      expect(urls('nats://a:4222, nats://b:4222 ,nats://c:4222')).toBe('nats://a:4222,nats://b:4222,nats://c:4222');
    });

    it.each<[string, string]>([
      ['nats://a:4222,http://b:4222', '"http://b:4222" must start with nats:// or tls://'],
      ['nats://a:4222,,nats://c:4222', 'an empty URL in the list'],
      ['nats://a:4222,b c', '"b c" is not a URL'],
    ])('refuses %s', (raw, message) => {
      expect(() => urls(raw)).toThrow(message);
    });
  });

  describe('the options file', () => {
    it('rejects unknown settings, naming them', () => {
      const file = optionsFile({ slots: 2, 'nats-ur': 'nats://x:4222', apiAddr: '0.0.0.0:1' });
      expect(optionsError(() => compile({ file })).message).toBe(`options file ${file}: unknown setting(s) nats-ur, apiAddr`);
    });

    it.each<[string, string]>([
      ['invalid JSON', '{ "slots": 2, }'],
      ['a missing file', ''],
    ])('reports %s', (_name, content) => {
      const file = content === '' ? join(dir, 'does-not-exist.json') : optionsFile(content, true);
      expect(optionsError(() => compile({ file })).message).toMatch(
        new RegExp(`^cannot read options file ${file.replace(/[.\\]/g, '\\$&')}: `),
      );
    });

    it.each([['null'], ['[]'], ['"slots=2"'], ['4']])('rejects %s instead of an object', (content) => {
      const file = optionsFile(content, true);
      expect(optionsError(() => compile({ file })).message).toBe(`options file ${file} must hold a JSON object of settings`);
    });
  });

  it('property: the value comes from the highest-priority source that sets it', () => {
    const file = optionsFile({ slots: 30 });
    fc.assert(
      fc.property(fc.boolean(), fc.boolean(), fc.boolean(), (hasFlag, hasEnv, hasFile) => {
        const sources: OptionSources = {
          flags: hasFlag ? { slots: '10' } : {},
          env: hasEnv ? { DROVER_SLOTS: '20' } : {},
          ...(hasFile ? { file } : {}),
        };
        const expected = hasFlag ? 10 : hasEnv ? 20 : hasFile ? 30 : 4;
        expect(compileOptions(spec, sources).slots).toBe(expected);
      }),
      { numRuns: 16 },
    );
  });
});

describe('parsers', () => {
  it.each<[string, unknown, unknown]>([
    ['int', parse.int(0, 10)('7'), 7],
    ['number', parse.number(0)('0.25'), 0.25],
    ['duration', parse.duration('1m30s'), 90_000],
    ['bytes', parse.bytes('512MiB'), 512 * 2 ** 20],
    ['boolean on', parse.boolean('ON'), true],
    ['boolean off', parse.boolean('0'), false],
    ['boolean empty', parse.boolean(''), false],
    ['hostPort', parse.hostPort('db.internal:5432'), { host: 'db.internal', port: 5432 }],
    ['url', parse.url(['https'])('https://drover.invalid/x'), 'https://drover.invalid/x'],
    ['oneOf', parse.oneOf(['debug', 'info'] as const)('info'), 'info'],
    ['string takes the last of several', parse.string(['a', 'b']), 'b'],
  ])('%s', (_name, actual, expected) => {
    expect(actual).toEqual(expected);
  });

  it.each<[string, () => unknown, string]>([
    ['int with a fraction', () => parse.int(0)('1.5'), '"1.5" must be a whole number from 0 to'],
    ['int above max', () => parse.int(0, 10)('11'), '"11" must be a whole number from 0 to 10'],
    ['number below min', () => parse.number(1)('0.5'), '"0.5" must be a number ≥ 1'],
    ['number that is not one', () => parse.number(0)('abc'), '"abc" must be a number'],
    ['duration', () => parse.duration('10'), '"10" is not a duration'],
    ['bytes', () => parse.bytes('1XB'), '"1XB" is not a size'],
    ['hostPort without a port', () => parse.hostPort('db.internal'), 'must be host:port'],
    ['url that is not one', () => parse.url(['nats'])('not a url'), '"not a url" is not a URL'],
    ['oneOf', () => parse.oneOf(['debug', 'info'])('trace'), '"trace" must be one of: debug, info'],
  ])('%s is rejected', (_name, fn, message) => {
    expect(fn).toThrow(message);
  });
});

describe('settingsReference', () => {
  it('renders a Markdown table with one row per setting, in declaration order', () => {
    const small = { apiAddr: spec.apiAddr, maxMemory: spec.maxMemory, allowShell: spec.allowShell } satisfies SettingsSpec;
    expect(settingsReference(small)).toBe(
      [
        '| flag | environment | default | meaning |',
        '|---|---|---|---|',
        '| `--api-addr` | `DROVER_API_ADDR` | `127.0.0.1:7400` | Where the REST API listens. |',
        '| `--max-memory` | `DROVER_MAX_MEMORY` |  | Memory offered to runs. |',
        '| `--allow-shell` | `DROVER_ALLOW_SHELL` | `false` | Run shell jobs. |',
      ].join('\n'),
    );
  });

  it('has a header and separator, then a row for every setting', () => {
    const lines = settingsReference(spec).split('\n');
    expect(lines).toHaveLength(2 + Object.keys(spec).length);
    for (const s of Object.values(spec)) expect(lines.some((l) => l.startsWith(`| \`--${s.flag}\` | \`${s.env}\` |`))).toBe(true);
  });
});
