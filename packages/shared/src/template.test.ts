import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ExecutorSpec } from './job.js';
import { missingParameters, renderExecutor, renderTemplate, templateParameters, type TemplateContext } from './template.js';

const ctx: TemplateContext = {
  parameters: { region: 'eu', 'batch-size': '10', 'v1.2': 'dotted', empty: '' },
  runId: 'RUN1',
  jobId: 'JOB1',
  jobName: 'nightly',
  attempt: 3,
};

describe('renderTemplate', () => {
  const table: Array<[string, string]> = [
    ['{{ param.region }}', 'eu'],
    ['{{param.region}}', 'eu'],
    ['--region={{  param.region  }}', '--region=eu'],
    ['{{ param.batch-size }}/{{ param.v1.2 }}', '10/dotted'],
    ['[{{ param.empty }}]', '[]'],
    ['{{ run.id }} {{ job.id }} {{ job.name }} #{{ attempt }}', 'RUN1 JOB1 nightly #3'],
    // A parameter that is not given stays as written, for missingParameters to name.
    ['{{ param.missing }}', '{{ param.missing }}'],
    // Names of Object.prototype members are parameters like any other, not inherited functions.
    [
      '{{ param.constructor }} {{ param.toString }} {{ param.__proto__ }}',
      '{{ param.constructor }} {{ param.toString }} {{ param.__proto__ }}',
    ],
    // Anything else in braces is not ours.
    ['{{ env.HOME }} {{ param. }} {{ run.name }} {{param.region}', '{{ env.HOME }} {{ param. }} {{ run.name }} {{param.region}'],
    ['no placeholders', 'no placeholders'],
  ];
  for (const [text, expected] of table) {
    it(`renders ${JSON.stringify(text)}`, () => expect(renderTemplate(text, ctx)).toBe(expected));
  }

  it('inserts values literally: replacement patterns and placeholders inside values are not expanded', () => {
    const parameters = { a: "$& $1 $$ $` $'", b: '{{ param.a }} {{ run.id }}' };
    expect(renderTemplate('{{ param.a }}|{{ param.b }}', { ...ctx, parameters })).toBe("$& $1 $$ $` $'|{{ param.a }} {{ run.id }}");
  });

  it('uses an own parameter called like an Object.prototype member', () => {
    expect(renderTemplate('{{ param.constructor }}', { ...ctx, parameters: { constructor: 'built' } })).toBe('built');
  });
});

describe('renderExecutor', () => {
  it('renders exec arguments and env, not the cwd', () => {
    const spec: ExecutorSpec = {
      type: 'exec',
      command: ['deploy', '--region', '{{ param.region }}', '--run={{ run.id }}'],
      env: { TARGET: '{{ param.region }}-{{ attempt }}' },
      cwd: '/srv/{{ param.region }}',
    };
    expect(renderExecutor(spec, ctx)).toEqual({
      type: 'exec',
      command: ['deploy', '--region', 'eu', '--run=RUN1'],
      env: { TARGET: 'eu-3' },
      cwd: '/srv/{{ param.region }}',
    });
  });

  it('renders only the env of a shell job: a value pasted into a script would be code', () => {
    const spec: ExecutorSpec = { type: 'shell', script: 'echo {{ param.region }}', env: { R: '{{ param.region }}' } };
    expect(renderExecutor(spec, ctx)).toEqual({ type: 'shell', script: 'echo {{ param.region }}', env: { R: 'eu' } });
  });

  it('renders the url, headers and every string of an http body, not its keys', () => {
    const spec: ExecutorSpec = {
      type: 'http',
      url: 'https://example.test/{{ job.name }}?r={{ param.region }}',
      headers: { 'x-run': '{{ run.id }}' },
      body: { '{{ param.region }}': ['{{ attempt }}', 2, { deep: '{{ param.batch-size }}' }], n: 1, ok: true, none: null },
    };
    expect(renderExecutor(spec, ctx)).toEqual({
      type: 'http',
      url: 'https://example.test/nightly?r=eu',
      headers: { 'x-run': 'RUN1' },
      body: { '{{ param.region }}': ['3', 2, { deep: '10' }], n: 1, ok: true, none: null },
    });
  });

  it('percent-encodes values in an http url, so a value cannot add a query parameter or a path', () => {
    const spec: ExecutorSpec = { type: 'http', url: 'https://example.test/r/{{ param.who }}?q={{ param.q }}' };
    const rendered = renderExecutor(spec, { ...ctx, parameters: { who: '../admin', q: 'a&b=c #x' } });
    expect(rendered).toMatchObject({ url: 'https://example.test/r/..%2Fadmin?q=a%26b%3Dc%20%23x' });
  });

  it('leaves the spec it was given unchanged', () => {
    const spec: ExecutorSpec = { type: 'exec', command: ['echo', '{{ param.region }}'] };
    renderExecutor(spec, ctx);
    expect(spec.command).toEqual(['echo', '{{ param.region }}']);
  });
});

describe('templateParameters and missingParameters', () => {
  it('lists the parameters used, in order of first use', () => {
    expect(templateParameters({ a: ['{{ param.b }} {{ param.a }}', '{{ param.b }}'], c: '{{ run.id }}' })).toEqual(['b', 'a']);
  });

  const table: Array<{ name: string; spec: ExecutorSpec; given: Record<string, string>; missing: string[] }> = [
    { name: 'exec argument', spec: { type: 'exec', command: ['x', '{{ param.a }}'] }, given: {}, missing: ['a'] },
    { name: 'given, even empty', spec: { type: 'exec', command: ['x', '{{ param.a }}'] }, given: { a: '' }, missing: [] },
    { name: 'exec env', spec: { type: 'exec', command: ['x'], env: { A: '{{ param.a }}' } }, given: {}, missing: ['a'] },
    // Only what renderExecutor fills in counts: the rest is never rendered, so needs nothing.
    { name: 'exec cwd is not rendered', spec: { type: 'exec', command: ['x'], cwd: '/{{ param.a }}' }, given: {}, missing: [] },
    { name: 'shell script is not rendered', spec: { type: 'shell', script: 'echo {{ param.a }}' }, given: {}, missing: [] },
    { name: 'shell env', spec: { type: 'shell', script: 'true', env: { A: '{{ param.b }}' } }, given: {}, missing: ['b'] },
    {
      name: 'http url, headers and body',
      spec: { type: 'http', url: 'http://h/{{ param.u }}', headers: { h: '{{ param.h }}' }, body: { b: '{{ param.b }}' } },
      given: { h: '1' },
      missing: ['u', 'b'],
    },
    {
      name: 'an inherited name is not given',
      spec: { type: 'exec', command: ['x', '{{ param.constructor }}'] },
      given: {},
      missing: ['constructor'],
    },
  ];
  for (const row of table) it(row.name, () => expect(missingParameters(row.spec, row.given)).toEqual(row.missing));
});

describe('parameter values in exec arguments (property)', () => {
  // Values an attacker would try: shell syntax, option and file-reference tricks, paths, and
  // text that looks like a placeholder; mixed with arbitrary unicode.
  const hostile = fc.constantFrom(
    '; rm -rf /',
    '$(id)',
    '`id`',
    'a\nb',
    ' ',
    '',
    '@/etc/passwd',
    '../x',
    '--help',
    '"\'\\',
    '{{ run.id }}',
    '$&',
  );
  const value = fc.oneof(
    hostile,
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.array(hostile, { maxLength: 4 }).map((xs) => xs.join('')),
  );

  it('each placeholder argument renders to exactly one argv element: the value, verbatim, with its surroundings', () => {
    fc.assert(
      fc.property(value, fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), (v, before, after) => {
        // Surrounding text must not itself hold placeholder syntax, or the expectation below would differ.
        fc.pre(!`${before}${after}`.includes('{') && !`${before}${after}`.includes('}'));
        const spec: ExecutorSpec = { type: 'exec', command: ['prog', '{{ param.x }}', `${before}{{ param.x }}${after}`, 'tail'] };
        const out = renderExecutor(spec, { ...ctx, parameters: { x: v } });
        expect(out.type === 'exec' && out.command).toEqual(['prog', v, `${before}${v}${after}`, 'tail']);
      }),
    );
  });
});
