// The job definition: what to run, where, and with which limits. One validator serves the
// REST API, the CLI and tests, and names every offending field.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { CONSTRAINT_OPERATORS, isOrderingOperator, operatorTakesValue, type Constraint } from './constraints.js';
import { ValidationError, type FieldError } from './errors.js';
import { parseBytes, parseDuration, parseQuantity } from './units.js';
import { ScheduleSchema, validateSchedule } from './schedule.js';
import { missingParameters } from './template.js';
import { compileRetryPolicy, retryErrors, RetrySchema, type RetryPolicy, type RetrySpec } from './retry.js';
import { compileDisconnect, disconnectErrors, DisconnectSchema, type DisconnectRule, type DisconnectSpec } from './disconnect.js';
import {
  ACTION_TYPES,
  ActionSchema,
  SkipNextActionSchema,
  TriggerJobActionSchema,
  WebhookActionSchema,
  type ActionSpec,
} from './actions.js';

const StringMap = Type.Record(Type.String(), Type.String());

/** Secret names: what PUT /v1/secrets/{name} accepts and `{ "secret": name }` refers to. */
export const SECRET_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$';
export const SecretRefSchema = Type.Object(
  {
    secret: Type.String({ pattern: SECRET_NAME_PATTERN, description: "A secret's name in the job's namespace (PUT /v1/secrets/{name})." }),
  },
  { additionalProperties: false, description: 'The value of a secret, given to the attempt only when it is sent to its agent.' },
);
export type SecretRef = Static<typeof SecretRefSchema>;
/** Environment variables of an exec or shell attempt: literal values (templates allowed) or secret references. */
const EnvMap = Type.Record(Type.String(), Type.Union([Type.String(), SecretRefSchema]));
export type EnvValue = string | SecretRef;
const Duration = Type.String({ description: 'A duration such as "90s", "1h30m" or "250ms".' });
const Bytes = Type.Union([Type.String(), Type.Number({ minimum: 0 })], {
  description: 'A size in bytes, or with a unit: "256MiB", "1GB".',
});

export const EXECUTOR_TYPES = ['exec', 'shell', 'http', 'noop'] as const;
export type ExecutorType = (typeof EXECUTOR_TYPES)[number];

export const ExecExecutorSchema = Type.Object(
  {
    type: Type.Literal('exec'),
    command: Type.Array(Type.String(), { minItems: 1, description: 'argv; the first element is the program. Never run through a shell.' }),
    env: Type.Optional(EnvMap),
    cwd: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export const ShellExecutorSchema = Type.Object(
  {
    type: Type.Literal('shell'),
    script: Type.String({ minLength: 1, description: 'Run by /bin/sh; agents refuse it unless started with --allow-shell.' }),
    env: Type.Optional(EnvMap),
    cwd: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export const HttpExecutorSchema = Type.Object(
  {
    type: Type.Literal('http'),
    method: Type.Optional(Type.Union(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'].map((m) => Type.Literal(m)))),
    url: Type.String({ pattern: '^https?://', description: 'An http:// or https:// URL.' }),
    headers: Type.Optional(StringMap),
    body: Type.Optional(Type.Union([Type.String(), Type.Record(Type.String(), Type.Unknown()), Type.Array(Type.Unknown())])),
    expectedStatus: Type.Optional(
      Type.Union([Type.Integer({ minimum: 100, maximum: 599 }), Type.Array(Type.Integer({ minimum: 100, maximum: 599 }), { minItems: 1 })]),
    ),
  },
  { additionalProperties: false },
);
export const NoopExecutorSchema = Type.Object(
  {
    type: Type.Literal('noop'),
    sleep: Type.Optional(Duration),
  },
  { additionalProperties: false },
);
export const ExecutorSchema = Type.Union([ExecExecutorSchema, ShellExecutorSchema, HttpExecutorSchema, NoopExecutorSchema]);
export type ExecutorSpec = Static<typeof ExecutorSchema>;

export const ConstraintSchema = Type.Object(
  {
    attribute: Type.String({
      minLength: 1,
      description: 'A capability: `cpu.cores`, `memory.bytes`, `os`, `arch`, `gpu.count`, `label.<name>`…',
    }),
    operator: Type.Union(CONSTRAINT_OPERATORS.map((o) => Type.Literal(o))),
    value: Type.Optional(Type.Union([Type.String(), Type.Number(), Type.Array(Type.Union([Type.String(), Type.Number()]))])),
  },
  { additionalProperties: false },
);

export const ResourcesSchema = Type.Object(
  {
    cpu: Type.Optional(Type.Number({ minimum: 0, description: 'CPU cores, may be fractional.' })),
    memory: Type.Optional(Bytes),
  },
  { additionalProperties: false },
);

/** Namespaces (of jobs, tokens, agents): lower-case, a DNS label's length, safe in URLs and logs. */
export const NAMESPACE_PATTERN = '^[a-z0-9][a-z0-9._-]{0,62}$';

/** The namespace a job lands in when its definition names none. */
export const DEFAULT_NAMESPACE = 'default';

export const JobDefinitionSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' }),
    namespace: Type.Optional(
      Type.String({
        pattern: NAMESPACE_PATTERN,
        description: 'The namespace the job, its runs and dead letters belong to (default `default`); names are unique per namespace.',
      }),
    ),
    description: Type.Optional(Type.String({ maxLength: 4000 })),
    executor: ExecutorSchema,
    constraints: Type.Optional(Type.Array(ConstraintSchema, { maxItems: 64 })),
    resources: Type.Optional(ResourcesSchema),
    timeout: Type.Optional(
      Type.String({
        description: 'Longest an attempt may run: its process tree is stopped (SIGTERM, then SIGKILL) and it ends `timed_out`.',
      }),
    ),
    expectedRunTime: Type.Optional(
      Type.String({ description: 'An attempt running longer records a violation and fires `on_violation` actions; it goes on running.' }),
    ),
    killGracePeriod: Type.Optional(
      Type.String({ description: 'Between SIGTERM and SIGKILL when an attempt is stopped (timeout, cancel); default "10s".' }),
    ),
    maxQueueTime: Type.Optional(Type.String({ description: 'A run waiting longer than this for an agent ends `expired`.' })),
    retry: Type.Optional(RetrySchema),
    disconnect: Type.Optional(DisconnectSchema),
    actions: Type.Optional(Type.Array(ActionSchema, { maxItems: 32 })),
    logLimit: Type.Optional(
      Type.Union([Type.String(), Type.Number({ minimum: 0 })], {
        description: 'Most output kept per attempt ("10MiB" by default); the rest is dropped and a marker says how much.',
      }),
    ),
    priority: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, description: 'Higher runs first; default 50.' })),
    parameters: Type.Optional(StringMap),
    schedule: Type.Optional(ScheduleSchema),
    maxConcurrentRuns: Type.Optional(
      Type.Integer({ minimum: 1, description: 'Most runs of this job active at once when its schedule fires (overlap policy "allow").' }),
    ),
  },
  { additionalProperties: false, $id: 'JobDefinition' },
);
export type JobDefinition = Static<typeof JobDefinitionSchema>;
export type { ActionSpec };

/** A job definition with its units resolved, as the dispatcher and agents use it. */
export interface CompiledJob {
  executor: ExecutorSpec;
  constraints: Constraint[];
  resources: { cpu: number; memoryBytes: number };
  timeoutMs: number | null;
  priority: number;
  expectedRunMs: number | null;
  killGraceMs: number;
  maxQueueMs: number | null;
  logLimitBytes: number;
  retry: RetryPolicy;
  disconnect: DisconnectRule;
}

export const DEFAULT_PRIORITY = 50;
/** Between SIGTERM and SIGKILL when an attempt is stopped, unless the job says otherwise. */
export const DEFAULT_KILL_GRACE_MS = 10_000;
/** Output kept per attempt unless the job says otherwise. */
export const DEFAULT_LOG_LIMIT_BYTES = 10 * 1024 * 1024;
/** Durations a job definition may give, with whether zero is allowed. */
const DURATION_FIELDS = [
  ['timeout', false],
  ['expectedRunTime', false],
  ['killGracePeriod', true],
  ['maxQueueTime', false],
] as const;

function pathOf(instancePath: string): string {
  return instancePath.replace(/^\//, '').replace(/\//g, '.');
}

/** Field errors from a TypeBox schema, one per field, with messages a person can act on. */
export function schemaErrors(schema: TSchema, value: unknown, prefix = ''): FieldError[] {
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const e of Value.Errors(schema, value)) {
    const field = [prefix, pathOf(e.path)].filter(Boolean).join('.');
    if (seen.has(field)) continue;
    seen.add(field);
    out.push({ field, message: e.message });
  }
  return out;
}

function unknownFields(obj: Record<string, unknown>, allowed: string[], prefix: string): FieldError[] {
  return Object.keys(obj)
    .filter((k) => !allowed.includes(k))
    .map((k) => ({ field: prefix ? `${prefix}.${k}` : k, message: `unknown field; expected one of: ${allowed.join(', ')}` }));
}

function executorErrors(executor: unknown): FieldError[] {
  if (typeof executor !== 'object' || executor === null || Array.isArray(executor)) {
    return [{ field: 'executor', message: 'must be an object with a "type"' }];
  }
  const type = (executor as Record<string, unknown>).type;
  const variants: Record<string, TSchema> = {
    exec: ExecExecutorSchema,
    shell: ShellExecutorSchema,
    http: HttpExecutorSchema,
    noop: NoopExecutorSchema,
  };
  const schema = typeof type === 'string' ? variants[type] : undefined;
  if (!schema) {
    return [{ field: 'executor.type', message: `unknown executor ${JSON.stringify(type)}; expected one of: ${EXECUTOR_TYPES.join(', ')}` }];
  }
  const ex = executor as Record<string, unknown>;
  const unknown = unknownFields(ex, Object.keys((schema as unknown as { properties: object }).properties), 'executor');
  if (unknown.length > 0) return unknown;
  if (type === 'exec' && ex.command === undefined)
    return [{ field: 'executor.command', message: 'is required: the program and its arguments, e.g. ["python3", "report.py"]' }];
  if (type === 'exec' && Array.isArray(ex.command) && ex.command.length === 0)
    return [{ field: 'executor.command', message: 'must name a program: it is empty' }];
  const errs = schemaErrors(schema, executor, 'executor');
  if ((type === 'exec' || type === 'shell') && typeof ex.cwd === 'string' && ex.cwd.split(/[\\/]/).includes('..')) {
    errs.push({
      field: 'executor.cwd',
      message: `"${ex.cwd}" climbs out with "..": give a path inside the agent's work root (--work-root), where relative paths are resolved`,
    });
  }
  if (type === 'noop' && typeof ex.sleep === 'string' && parseDuration(ex.sleep) === undefined) {
    errs.push({ field: 'executor.sleep', message: `"${ex.sleep}" is not a duration; use e.g. "500ms", "10s", "1h30m"` });
  }
  return errs;
}

function constraintErrors(constraints: unknown): FieldError[] {
  if (!Array.isArray(constraints)) return [{ field: 'constraints', message: 'must be an array' }];
  const errs: FieldError[] = [];
  constraints.forEach((c: unknown, i) => {
    const at = `constraints.${i}`;
    if (typeof c !== 'object' || c === null) return errs.push({ field: at, message: 'must be an object { attribute, operator, value }' });
    const { operator, value } = c as Record<string, unknown>;
    if (typeof operator === 'string' && !(CONSTRAINT_OPERATORS as readonly string[]).includes(operator)) {
      errs.push({
        field: `${at}.operator`,
        message: `unknown operator "${operator}"; expected one of: ${CONSTRAINT_OPERATORS.join(', ')}`,
      });
      return;
    }
    const own = schemaErrors(ConstraintSchema, c, at);
    if (own.length > 0) return errs.push(...own);
    const op = operator as Constraint['operator'];
    if (operatorTakesValue(op) && value === undefined) errs.push({ field: `${at}.value`, message: `is required with operator "${op}"` });
    if (!operatorTakesValue(op) && value !== undefined)
      errs.push({ field: `${at}.value`, message: `must be absent with operator "${op}"` });
    if ((op === 'in' || op === 'not_in') && value !== undefined && typeof value !== 'string' && !Array.isArray(value))
      errs.push({ field: `${at}.value`, message: `must be a list with operator "${op}"` });
    if (isOrderingOperator(op) && value !== undefined && (Array.isArray(value) || parseQuantity(value as string | number) === undefined)) {
      errs.push({
        field: `${at}.value`,
        message: `"${String(value)}" is not a number, size ("1GiB") or duration ("90s"), which "${op}" compares`,
      });
    }
    return undefined;
  });
  return errs;
}

function actionErrors(actions: unknown): FieldError[] {
  if (!Array.isArray(actions)) return [{ field: 'actions', message: 'must be an array of { trigger, type, … }' }];
  const variants: Record<string, TSchema> = {
    webhook: WebhookActionSchema,
    trigger_job: TriggerJobActionSchema,
    skip_next: SkipNextActionSchema,
  };
  return actions.flatMap((a: unknown, i): FieldError[] => {
    const at = `actions.${i}`;
    const type = (a as Record<string, unknown> | null)?.type;
    const schema = typeof type === 'string' ? variants[type] : undefined;
    if (!schema)
      return [{ field: `${at}.type`, message: `unknown action ${JSON.stringify(type)}; expected one of: ${ACTION_TYPES.join(', ')}` }];
    return schemaErrors(schema, a, at);
  });
}

/** Checks a job definition and lists every problem with its field; returns the definition when valid. */
export function validateJobDefinition(input: unknown): JobDefinition {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ValidationError([{ field: '', message: 'the job definition must be a JSON object' }]);
  }
  const job = input as Record<string, unknown>;
  const errs: FieldError[] = unknownFields(job, Object.keys(JobDefinitionSchema.properties), '');
  if (job.name === undefined) errs.push({ field: 'name', message: 'is required' });
  if (job.executor === undefined)
    errs.push({ field: 'executor', message: 'is required, e.g. { "type": "exec", "command": ["echo", "hi"] }' });
  else errs.push(...executorErrors(job.executor));
  if (job.constraints !== undefined) errs.push(...constraintErrors(job.constraints));
  if (job.schedule !== undefined) errs.push(...validateSchedule(job.schedule, 'schedule'));
  for (const [field, zeroOk] of DURATION_FIELDS) {
    const v = job[field];
    if (v === undefined) continue;
    const ms = typeof v === 'string' ? parseDuration(v) : undefined;
    if (ms === undefined || (ms === 0 && !zeroOk)) {
      errs.push({ field, message: `${JSON.stringify(v)} is not a ${zeroOk ? '' : 'positive '}duration; use e.g. "30s", "1h"` });
    }
  }
  if (job.logLimit !== undefined && (typeof job.logLimit === 'string' || typeof job.logLimit === 'number')) {
    const bytes = parseBytes(job.logLimit);
    if (bytes === undefined || bytes < 1024)
      errs.push({ field: 'logLimit', message: `"${String(job.logLimit)}" is not a size of at least 1KiB; use e.g. "10MiB"` });
  }
  if (job.retry !== undefined) {
    const own = schemaErrors(RetrySchema, job.retry, 'retry');
    errs.push(...(own.length > 0 ? own : retryErrors(job.retry as RetrySpec, 'retry')));
  }
  if (job.disconnect !== undefined) {
    const own = schemaErrors(DisconnectSchema, job.disconnect, 'disconnect');
    errs.push(...(own.length > 0 ? own : disconnectErrors(job.disconnect as DisconnectSpec, 'disconnect')));
  }
  if (job.actions !== undefined) errs.push(...actionErrors(job.actions));
  if (job.schedule !== undefined && errs.length === 0) {
    const defaults = (job.parameters ?? {}) as Record<string, string>;
    for (const name of missingParameters(job.executor as ExecutorSpec, defaults)) {
      errs.push({
        field: `parameters.${name}`,
        message: `needs a default: the executor uses {{ param.${name} }} and schedule fires carry no parameters`,
      });
    }
  }
  const res = job.resources as Record<string, unknown> | undefined;
  if (
    res &&
    typeof res === 'object' &&
    res.memory !== undefined &&
    (typeof res.memory === 'string' || typeof res.memory === 'number') &&
    parseBytes(res.memory) === undefined
  ) {
    errs.push({
      field: 'resources.memory',
      message: `"${String(res.memory)}" is not a size; use e.g. "256MiB", "1GB" or a number of bytes`,
    });
  }
  // The schema catches the rest (types, ranges, name pattern). Skip a field already reported,
  // or its parent or child, but keep siblings: `resources.cpu` beside a bad `resources.memory`.
  const reported = errs.map((e) => e.field);
  const overlaps = (f: string) => reported.some((r) => r === f || f.startsWith(`${r}.`) || r.startsWith(`${f}.`));
  for (const e of schemaErrors(JobDefinitionSchema, input)) {
    const top = e.field.split('.')[0] ?? '';
    if (!['executor', 'constraints', 'schedule', 'retry', 'disconnect', 'actions'].includes(top) && !overlaps(e.field)) {
      errs.push(e);
      reported.push(e.field);
    }
  }
  if (errs.length > 0) throw new ValidationError(errs);
  return input as JobDefinition;
}

/** The secrets an executor's env refers to: `field` (for messages), the variable and the secret's name. */
export function secretReferences(executor: ExecutorSpec): Array<{ field: string; variable: string; secret: string }> {
  if (executor.type !== 'exec' && executor.type !== 'shell') return [];
  return Object.entries(executor.env ?? {}).flatMap(([variable, v]) =>
    typeof v === 'object' && v !== null ? [{ field: `executor.env.${variable}`, variable, secret: v.secret }] : [],
  );
}

/** The executor with its secret references taken out of its env (they travel resolved, in `RunOffer.secretEnv`). */
export function withoutSecretReferences(executor: ExecutorSpec): ExecutorSpec {
  if ((executor.type !== 'exec' && executor.type !== 'shell') || !executor.env) return executor;
  const env = Object.fromEntries(Object.entries(executor.env).filter(([, v]) => typeof v === 'string'));
  return { ...executor, env };
}

/** Resolves units and defaults so the hot path never parses strings. */
export function compileJob(def: JobDefinition): CompiledJob {
  return {
    executor: def.executor,
    constraints: (def.constraints ?? []) as Constraint[],
    resources: {
      cpu: def.resources?.cpu ?? 0,
      memoryBytes: def.resources?.memory === undefined ? 0 : (parseBytes(def.resources.memory) ?? 0),
    },
    timeoutMs: def.timeout === undefined ? null : (parseDuration(def.timeout) ?? null),
    priority: def.priority ?? DEFAULT_PRIORITY,
    expectedRunMs: def.expectedRunTime === undefined ? null : (parseDuration(def.expectedRunTime) ?? null),
    killGraceMs: def.killGracePeriod === undefined ? DEFAULT_KILL_GRACE_MS : (parseDuration(def.killGracePeriod) ?? DEFAULT_KILL_GRACE_MS),
    maxQueueMs: def.maxQueueTime === undefined ? null : (parseDuration(def.maxQueueTime) ?? null),
    logLimitBytes: def.logLimit === undefined ? DEFAULT_LOG_LIMIT_BYTES : (parseBytes(def.logLimit) ?? DEFAULT_LOG_LIMIT_BYTES),
    retry: compileRetryPolicy(def.retry),
    disconnect: compileDisconnect(def.disconnect),
  };
}
