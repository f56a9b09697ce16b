import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError, type FieldError } from './errors.js';
import {
  DEFAULT_KILL_GRACE_MS,
  DEFAULT_LOG_LIMIT_BYTES,
  DEFAULT_PRIORITY,
  compileJob,
  validateJobDefinition,
  type JobDefinition,
} from './job.js';
import { NO_RETRY_POLICY } from './retry.js';
import { DEFAULT_DISCONNECT_AFTER_MS } from './disconnect.js';

// The example from the documentation, exactly as a user would write it.
const nightlyReportText = `{
  "name": "nightly-report",
  "executor": { "type": "exec", "command": ["python3", "report.py"], "env": { "MODE": "full" }, "cwd": "/srv/reports" },
  "constraints": [ { "attribute": "label.region", "operator": "=", "value": "eu" },
                   { "attribute": "memory.bytes", "operator": ">=", "value": "1GiB" } ],
  "resources": { "cpu": 0.5, "memory": "256MiB" },
  "timeout": "1h",
  "priority": 50
}`;

const nightlyReport = (): Record<string, unknown> => JSON.parse(nightlyReportText) as Record<string, unknown>;
const minimal = (): Record<string, unknown> => ({ name: 'hello', executor: { type: 'exec', command: ['echo', 'hi'] } });

/** The field errors of an invalid definition; fails the test when the definition is accepted. */
function errorsOf(input: unknown): FieldError[] {
  try {
    validateJobDefinition(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    const v = err as ValidationError;
    expect(v.code).toBe('VALIDATION_FAILED');
    return v.errors;
  }
  expect.fail(`expected ${JSON.stringify(input)} to be rejected`);
}

const fieldsOf = (input: unknown) => errorsOf(input).map((e) => e.field);

describe('validateJobDefinition accepts', () => {
  it('the nightly-report definition exactly as written', () => {
    const def = nightlyReport();
    expect(validateJobDefinition(def)).toEqual(JSON.parse(nightlyReportText));
  });

  it.each<[string, Record<string, unknown>]>([
    ['a minimal exec job', minimal()],
    ['a shell job', { name: 'sh', executor: { type: 'shell', script: 'echo hi | wc -c' } }],
    [
      'an http job',
      {
        name: 'ping',
        executor: { type: 'http', method: 'POST', url: 'https://example.invalid/hook', expectedStatus: [200, 204], body: { a: 1 } },
      },
    ],
    ['a noop job with a sleep', { name: 'nap', executor: { type: 'noop', sleep: '250ms' } }],
    ['a memory size in bytes', { ...minimal(), resources: { memory: 1024 } }],
    ['exists without a value', { ...minimal(), constraints: [{ attribute: 'gpu.model', operator: 'exists' }] }],
    ['in with a list', { ...minimal(), constraints: [{ attribute: 'label.region', operator: 'in', value: ['eu', 'us'] }] }],
    ['in with a comma string', { ...minimal(), constraints: [{ attribute: 'label.region', operator: 'in', value: 'eu,us' }] }],
    ['< with a duration', { ...minimal(), constraints: [{ attribute: 'uptime.ms', operator: '<', value: '90s' }] }],
    ['priority bounds', { ...minimal(), priority: 0 }],
    ['a name with dots, dashes and underscores', { ...minimal(), name: 'team.nightly_report-2' }],
    ['parameters', { ...minimal(), parameters: { day: 'monday' }, description: 'says hi' }],
  ])('%s', (_name, def) => {
    expect(validateJobDefinition(def)).toBe(def);
  });
});

const LIMIT_DEFAULTS = {
  expectedRunMs: null,
  killGraceMs: DEFAULT_KILL_GRACE_MS,
  maxQueueMs: null,
  logLimitBytes: DEFAULT_LOG_LIMIT_BYTES,
  retry: NO_RETRY_POLICY,
  disconnect: { mode: 'stop', afterMs: DEFAULT_DISCONNECT_AFTER_MS },
};

describe('compileJob', () => {
  it('resolves the units of the nightly-report definition', () => {
    expect(compileJob(validateJobDefinition(nightlyReport()))).toEqual({
      executor: { type: 'exec', command: ['python3', 'report.py'], env: { MODE: 'full' }, cwd: '/srv/reports' },
      constraints: [
        { attribute: 'label.region', operator: '=', value: 'eu' },
        { attribute: 'memory.bytes', operator: '>=', value: '1GiB' },
      ],
      resources: { cpu: 0.5, memoryBytes: 268435456 },
      timeoutMs: 3600000,
      priority: 50,
      ...LIMIT_DEFAULTS,
    });
  });

  it('fills defaults: no resources, no timeout, priority 50', () => {
    expect(DEFAULT_PRIORITY).toBe(50);
    expect(compileJob(validateJobDefinition(minimal()))).toEqual({
      executor: { type: 'exec', command: ['echo', 'hi'] },
      constraints: [],
      resources: { cpu: 0, memoryBytes: 0 },
      timeoutMs: null,
      priority: 50,
      ...LIMIT_DEFAULTS,
    });
  });

  it.each<[Partial<JobDefinition>, Partial<ReturnType<typeof compileJob>>]>([
    [{ priority: 0 }, { priority: 0 }],
    [{ priority: 100 }, { priority: 100 }],
    [{ timeout: '1h30m' }, { timeoutMs: 5_400_000 }],
    [{ resources: { memory: 4096 } }, { resources: { cpu: 0, memoryBytes: 4096 } }],
    [{ resources: { cpu: 2, memory: '1GB' } }, { resources: { cpu: 2, memoryBytes: 1e9 } }],
    [
      { expectedRunTime: '90s', killGracePeriod: '0s', maxQueueTime: '5m' },
      { expectedRunMs: 90_000, killGraceMs: 0, maxQueueMs: 300_000 },
    ],
    [{ logLimit: '1MiB' }, { logLimitBytes: 1_048_576 }],
    [{ disconnect: { after: '2m' } }, { disconnect: { mode: 'stop', afterMs: 120_000 } }],
    [{ disconnect: { mode: 'keep' } }, { disconnect: { mode: 'keep', afterMs: DEFAULT_DISCONNECT_AFTER_MS } }],
    [
      { retry: { maxAttempts: 5, initialDelay: '2s', maxDelay: '1m' } },
      { retry: expect.objectContaining({ maxAttempts: 5, backoff: 'exponential', initialDelayMs: 2000, maxDelayMs: 60_000 }) },
    ],
  ])('%j compiles to include %j', (extra, expected) => {
    expect(compileJob(validateJobDefinition({ ...minimal(), ...extra }))).toMatchObject(expected);
  });
});

describe('validateJobDefinition rejects', () => {
  const withExecutor = (executor: unknown) => ({ ...minimal(), executor });
  const withConstraint = (constraint: unknown) => ({ ...minimal(), constraints: [constraint] });

  it.each<[string, unknown, string]>([
    [
      'a bad operator',
      { ...nightlyReport(), constraints: [{ attribute: 'label.region', operator: '~=', value: 'eu' }] },
      'constraints.0.operator',
    ],
    ['a non-string operator', withConstraint({ attribute: 'os', operator: 5, value: 'linux' }), 'constraints.0.operator'],
    ['an unknown executor type', withExecutor({ type: 'docker', image: 'alpine' }), 'executor.type'],
    ['an executor without a type', withExecutor({ command: ['ls'] }), 'executor.type'],
    ['an executor that is not an object', withExecutor('ls -l'), 'executor'],
    ['a missing executor', { name: 'x' }, 'executor'],
    ['negative cpu', { ...minimal(), resources: { cpu: -1 } }, 'resources.cpu'],
    ['cpu as text', { ...minimal(), resources: { cpu: 'two' } }, 'resources.cpu'],
    ['a missing command', withExecutor({ type: 'exec' }), 'executor.command'],
    ['an empty command', withExecutor({ type: 'exec', command: [] }), 'executor.command'],
    ['a command as one string', withExecutor({ type: 'exec', command: 'python3 report.py' }), 'executor.command'],
    ['an empty shell script', withExecutor({ type: 'shell', script: '' }), 'executor.script'],
    ['an http URL without a scheme', withExecutor({ type: 'http', url: 'example.invalid/hook' }), 'executor.url'],
    ['a status out of range', withExecutor({ type: 'http', url: 'http://x.invalid', expectedStatus: 700 }), 'executor.expectedStatus'],
    ['a field of another executor', withExecutor({ type: 'exec', command: ['ls'], script: 'ls' }), 'executor.script'],
    ['a bad noop sleep', withExecutor({ type: 'noop', sleep: 'a while' }), 'executor.sleep'],
    ['an unknown top-level field', { ...nightlyReport(), timout: '1h' }, 'timout'],
    ['a bad timeout', { ...minimal(), timeout: 'soon' }, 'timeout'],
    ['a zero timeout', { ...minimal(), timeout: '0s' }, 'timeout'],
    ['a numeric timeout', { ...minimal(), timeout: 3600 }, 'timeout'],
    ['bad memory', { ...minimal(), resources: { memory: 'lots' } }, 'resources.memory'],
    ['negative memory', { ...minimal(), resources: { memory: -1 } }, 'resources.memory'],
    ['an unknown resource', { ...minimal(), resources: { gpu: 1 } }, 'resources.gpu'],
    ['>= with a non-quantity value', withConstraint({ attribute: 'memory.bytes', operator: '>=', value: 'big' }), 'constraints.0.value'],
    ['< with a list', withConstraint({ attribute: 'cpu.cores', operator: '<', value: [1, 2] }), 'constraints.0.value'],
    ['= without a value', withConstraint({ attribute: 'os', operator: '=' }), 'constraints.0.value'],
    ['exists with a value', withConstraint({ attribute: 'gpu.model', operator: 'exists', value: 'a100' }), 'constraints.0.value'],
    ['in with a number', withConstraint({ attribute: 'cpu.cores', operator: 'in', value: 4 }), 'constraints.0.value'],
    ['an empty attribute', withConstraint({ attribute: '', operator: 'exists' }), 'constraints.0.attribute'],
    ['a constraint that is not an object', withConstraint('os=linux'), 'constraints.0'],
    ['constraints that are not a list', { ...minimal(), constraints: { os: 'linux' } }, 'constraints'],
    ['a missing name', { executor: { type: 'exec', command: ['ls'] } }, 'name'],
    ['an empty name', { ...minimal(), name: '' }, 'name'],
    ['a name with a space', { ...minimal(), name: 'nightly report' }, 'name'],
    ['a name starting with a dash', { ...minimal(), name: '-report' }, 'name'],
    ['a name with a slash', { ...minimal(), name: 'team/report' }, 'name'],
    ['priority 101', { ...minimal(), priority: 101 }, 'priority'],
    ['negative priority', { ...minimal(), priority: -1 }, 'priority'],
    ['a fractional priority', { ...minimal(), priority: 50.5 }, 'priority'],
    ['a non-string parameter', { ...minimal(), parameters: { day: 1 } }, 'parameters.day'],
    ['a bad expectedRunTime', { ...minimal(), expectedRunTime: 'a bit' }, 'expectedRunTime'],
    ['a bad killGracePeriod', { ...minimal(), killGracePeriod: 'polite' }, 'killGracePeriod'],
    ['a zero maxQueueTime', { ...minimal(), maxQueueTime: '0s' }, 'maxQueueTime'],
    ['a tiny logLimit', { ...minimal(), logLimit: '10B' }, 'logLimit'],
    ['zero maxAttempts', { ...minimal(), retry: { maxAttempts: 0 } }, 'retry.maxAttempts'],
    ['an unknown backoff', { ...minimal(), retry: { backoff: 'fibonacci' } }, 'retry.backoff'],
    ['a bad initialDelay', { ...minimal(), retry: { initialDelay: 'soon' } }, 'retry.initialDelay'],
    ['maxDelay under initialDelay', { ...minimal(), retry: { initialDelay: '1m', maxDelay: '10s' } }, 'retry.maxDelay'],
    ['jitter above 1', { ...minimal(), retry: { jitter: 2 } }, 'retry.jitter'],
    ['a backwards exit-code range', { ...minimal(), retry: { nonRetryableExitCodes: ['9-3'] } }, 'retry.nonRetryableExitCodes.0'],
    ['an unknown retryOn field', { ...minimal(), retry: { retryOn: { signals: true } } }, 'retry.retryOn.signals'],
    ['an unknown disconnect mode', { ...minimal(), disconnect: { mode: 'pause' } }, 'disconnect.mode'],
    ['a disconnect after that is no duration', { ...minimal(), disconnect: { after: 'a while' } }, 'disconnect.after'],
    ['a disconnect after under 5s', { ...minimal(), disconnect: { mode: 'stop', after: '2s' } }, 'disconnect.after'],
    ['an unknown disconnect field', { ...minimal(), disconnect: { grace: '1s' } }, 'disconnect.grace'],
    ['an unknown action type', { ...minimal(), actions: [{ trigger: 'on_success', type: 'email' }] }, 'actions.0.type'],
    ['an unknown action trigger', { ...minimal(), actions: [{ trigger: 'on_boredom', type: 'skip_next' }] }, 'actions.0.trigger'],
    ['a webhook without a url', { ...minimal(), actions: [{ trigger: 'on_failure', type: 'webhook' }] }, 'actions.0.url'],
    [
      'a scheduled job using a parameter without a default',
      { ...minimal(), executor: { type: 'exec', command: ['echo', '{{ param.day }}'] }, schedule: { cron: '0 * * * *' } },
      'parameters.day',
    ],
  ])('%s, naming the field', (_name, input, field) => {
    expect(fieldsOf(input)).toEqual([field]);
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['an array', [minimal()]],
    ['a string', 'nightly-report'],
  ])('%s as the whole definition', (_name, input) => {
    expect(errorsOf(input)).toEqual([{ field: '', message: 'the job definition must be a JSON object' }]);
  });

  it('names the offending value and what would be accepted', () => {
    const [timeout] = errorsOf({ ...minimal(), timeout: 'soon' });
    expect(timeout!.message).toContain('"soon"');
    const [op] = errorsOf(withConstraint({ attribute: 'os', operator: '~=', value: 'x' }));
    expect(op!.message).toContain('expected one of: =, !=, in, not_in, >=, <=, >, <, exists, not_exists');
    const [type] = errorsOf(withExecutor({ type: 'docker' }));
    expect(type!.message).toContain('expected one of: exec, shell, http, noop');
  });

  it('reports several problems at once, one per field', () => {
    const input = {
      nme: 'typo',
      executor: { type: 'exec', command: [] },
      constraints: [
        { attribute: 'label.region', operator: '=', value: 'eu' },
        { attribute: 'label.region', operator: 'like', value: 'e%' },
        { attribute: 'memory.bytes', operator: '>=', value: 'plenty' },
      ],
      resources: { cpu: -1, memory: 'lots' },
      timeout: 'soon',
      priority: 101,
    };
    expect(fieldsOf(input).sort()).toEqual(
      [
        'nme',
        'name',
        'executor.command',
        'constraints.1.operator',
        'constraints.2.value',
        'resources.cpu',
        'resources.memory',
        'timeout',
        'priority',
      ].sort(),
    );
  });

  it('puts every field error into the message', () => {
    try {
      validateJobDefinition({ ...minimal(), name: 'bad name', priority: 101 });
      expect.fail('expected a ValidationError');
    } catch (err) {
      expect((err as Error).message).toMatch(/^name: .+; priority: .+$/);
    }
  });
});

describe('job definition properties', () => {
  it('accepts every well-formed name and rejects one with a forbidden character', () => {
    const nameChar = fc.constantFrom(...'abcXYZ019._-'.split(''));
    const name = fc.tuple(fc.constantFrom(...'aZ0'.split('')), fc.array(nameChar, { maxLength: 30 })).map(([h, t]) => h + t.join(''));
    fc.assert(
      fc.property(name, fc.constantFrom(' ', '/', ':', '*', 'é'), fc.nat(), (n, bad, at) => {
        expect(() => validateJobDefinition({ ...minimal(), name: n })).not.toThrow();
        const i = at % (n.length + 1);
        expect(fieldsOf({ ...minimal(), name: n.slice(0, i) + bad + n.slice(i) })).toEqual(['name']);
      }),
    );
  });

  it('compiles any valid memory size and timeout to the parsed numbers', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4096 }),
        fc.constantFrom(['MiB', 2 ** 20] as const, ['GiB', 2 ** 30] as const, ['MB', 1e6] as const),
        fc.integer({ min: 1, max: 1000 }),
        fc.constantFrom(['s', 1000] as const, ['m', 60_000] as const, ['h', 3_600_000] as const),
        (m, [mu, mf], t, [tu, tf]) => {
          const job = compileJob(validateJobDefinition({ ...minimal(), resources: { memory: `${m}${mu}` }, timeout: `${t}${tu}` }));
          expect(job.resources.memoryBytes).toBe(m * mf);
          expect(job.timeoutMs).toBe(t * tf);
        },
      ),
    );
  });
});
