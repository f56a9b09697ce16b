// Retry policy: which attempt outcomes are retried, how often, and after what backoff. Pure
// functions of the policy, the attempt's result and a random source, so the rules are tested
// with tables and property tests and the coordinator only applies what they decide.
import { Type, type Static } from '@sinclair/typebox';
import type { FieldError } from './errors.js';
import { parseDuration } from './units.js';

/** An exit code or HTTP status, or an inclusive range of them written "500-599". */
const CodeOrRange = Type.Union([Type.Integer(), Type.String({ pattern: '^\\d+-\\d+$' })]);
const Codes = Type.Array(CodeOrRange, { maxItems: 256 });

export const RetrySchema = Type.Object(
  {
    maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Attempts in all, the first included; default 3.' })),
    backoff: Type.Optional(Type.Union([Type.Literal('fixed'), Type.Literal('exponential')], { description: 'Default "exponential".' })),
    initialDelay: Type.Optional(Type.String({ description: 'Delay before the first retry; default "1s".' })),
    maxDelay: Type.Optional(Type.String({ description: 'Longest delay between attempts; default "5m".' })),
    multiplier: Type.Optional(Type.Number({ minimum: 1, maximum: 100, description: 'Exponential growth per retry; default 2.' })),
    jitter: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 1,
        description: 'Fraction of each delay chosen at random (0.2: between 80% and 100%); default 0.',
      }),
    ),
    retryOn: Type.Optional(
      Type.Object(
        {
          exitCodes: Type.Optional(
            Type.Union([Codes, Type.Literal('any')], { description: 'Exit codes retried; default "any" non-zero.' }),
          ),
          timedOut: Type.Optional(Type.Boolean({ description: 'Retry attempts that hit `timeout`; default true.' })),
          lost: Type.Optional(Type.Boolean({ description: 'Retry attempts lost with their agent; default true.' })),
          httpStatuses: Type.Optional(
            Type.Union([Codes, Type.Literal('any')], { description: 'http jobs: statuses retried; default 429 and 500-599.' }),
          ),
          errors: Type.Optional(
            Type.Boolean({
              description: 'Retry failures with neither exit code nor status (program not found, connection refused); default true.',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    nonRetryableExitCodes: Type.Optional(Codes),
  },
  { additionalProperties: false },
);
export type RetrySpec = Static<typeof RetrySchema>;

type CodeSet = ReadonlyArray<readonly [number, number]> | 'any';

/** A retry policy with defaults applied and durations in milliseconds. */
export interface RetryPolicy {
  maxAttempts: number;
  backoff: 'fixed' | 'exponential';
  initialDelayMs: number;
  maxDelayMs: number;
  multiplier: number;
  jitter: number;
  exitCodes: CodeSet;
  timedOut: boolean;
  lost: boolean;
  httpStatuses: CodeSet;
  errors: boolean;
  nonRetryableExitCodes: ReadonlyArray<readonly [number, number]>;
}

/**
 * Without a `retry` block a job gets one more attempt only when its agent is lost (the job
 * did not fail; its host did). A `retry` block governs every outcome.
 */
export const NO_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 2,
  backoff: 'fixed',
  initialDelayMs: 0,
  maxDelayMs: 0,
  multiplier: 1,
  jitter: 0,
  exitCodes: [],
  timedOut: false,
  lost: true,
  httpStatuses: [],
  errors: false,
  nonRetryableExitCodes: [],
};

function codeRanges(codes: ReadonlyArray<number | string>): Array<[number, number]> {
  return codes.map((c) => {
    if (typeof c === 'number') return [c, c];
    const [a = 0, b = 0] = c.split('-').map(Number);
    return [a, b];
  });
}

const inRanges = (set: CodeSet, code: number): boolean => set === 'any' || set.some(([a, b]) => code >= a && code <= b);

/** Checks a retry block beyond what its schema says; fields are prefixed with `at`. */
export function retryErrors(spec: RetrySpec, at: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const key of ['initialDelay', 'maxDelay'] as const) {
    const v = spec[key];
    if (v !== undefined && parseDuration(v) === undefined)
      errs.push({ field: `${at}.${key}`, message: `"${v}" is not a duration; use e.g. "500ms", "10s", "5m"` });
  }
  const lists: Array<[string, ReadonlyArray<number | string> | 'any' | undefined]> = [
    ['retryOn.exitCodes', spec.retryOn?.exitCodes],
    ['retryOn.httpStatuses', spec.retryOn?.httpStatuses],
    ['nonRetryableExitCodes', spec.nonRetryableExitCodes],
  ];
  for (const [field, list] of lists) {
    if (list === undefined || list === 'any') continue;
    list.forEach((c, i) => {
      if (typeof c !== 'string') return;
      const [a = 0, b = 0] = c.split('-').map(Number);
      if (a > b) errs.push({ field: `${at}.${field}.${i}`, message: `range "${c}" is backwards; write the smaller code first` });
    });
  }
  const initial = spec.initialDelay === undefined ? undefined : parseDuration(spec.initialDelay);
  const max = spec.maxDelay === undefined ? undefined : parseDuration(spec.maxDelay);
  if (initial !== undefined && max !== undefined && max < initial)
    errs.push({ field: `${at}.maxDelay`, message: `${spec.maxDelay} is shorter than initialDelay ${spec.initialDelay}` });
  return errs;
}

/** Applies defaults; the spec must have passed validation. */
export function compileRetryPolicy(spec: RetrySpec | undefined): RetryPolicy {
  if (spec === undefined) return NO_RETRY_POLICY;
  const on = spec.retryOn ?? {};
  const initialDelayMs = parseDuration(spec.initialDelay ?? '1s') ?? 1000;
  return {
    maxAttempts: spec.maxAttempts ?? 3,
    backoff: spec.backoff ?? 'exponential',
    initialDelayMs,
    maxDelayMs: Math.max(initialDelayMs, parseDuration(spec.maxDelay ?? '5m') ?? 300_000),
    multiplier: spec.multiplier ?? 2,
    jitter: spec.jitter ?? 0,
    exitCodes: on.exitCodes === undefined || on.exitCodes === 'any' ? 'any' : codeRanges(on.exitCodes),
    timedOut: on.timedOut ?? true,
    lost: on.lost ?? true,
    httpStatuses: on.httpStatuses === 'any' ? 'any' : codeRanges(on.httpStatuses ?? [429, '500-599']),
    errors: on.errors ?? true,
    nonRetryableExitCodes: codeRanges(spec.nonRetryableExitCodes ?? []),
  };
}

/** How an attempt ended, as far as retrying is concerned. */
export interface AttemptEnd {
  outcome: 'succeeded' | 'failed' | 'timed_out' | 'cancelled' | 'lost';
  exitCode: number | null;
  httpStatus: number | null;
  /** This attempt's number counted from the last manual retry (1 for the first). */
  attemptsUsed: number;
  /** The run's attempt number, counted from its first attempt; attemptsUsed when absent. */
  attempt?: number;
}

export type RetryDecision = { retry: true; delayMs: number; reason: string } | { retry: false; reason: string };

/**
 * The delay before retry number `retry` (1 for the first retry). `random` returns [0, 1);
 * jitter takes up to that fraction off the delay, so the policy's delays are upper bounds.
 */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const base =
    policy.backoff === 'fixed' ? policy.initialDelayMs : policy.initialDelayMs * Math.pow(policy.multiplier, Math.max(0, retry - 1));
  const capped = Math.min(base, policy.maxDelayMs);
  return Math.round(capped * (1 - policy.jitter * random()));
}

function describe(end: AttemptEnd): string {
  if (end.outcome === 'timed_out') return 'timed out';
  if (end.outcome === 'lost') return 'was lost with its agent';
  if (end.exitCode !== null) return `exited with code ${end.exitCode}`;
  if (end.httpStatus !== null) return `got HTTP status ${end.httpStatus}`;
  return 'failed';
}

/** Whether an attempt that ended like `end` is retried under `policy`, and after how long. */
export function decideRetry(policy: RetryPolicy, end: AttemptEnd, random: () => number = Math.random): RetryDecision {
  // Reasons name the run's attempt (the number the run and its dead letter show); after a
  // retry by hand, the budget is counted from there, and the reason says so.
  const attempt = end.attempt ?? end.attemptsUsed;
  const sinceRetry = attempt !== end.attemptsUsed ? ' since the retry by hand' : '';
  const what = `attempt ${attempt} ${describe(end)}`;
  if (end.outcome === 'succeeded' || end.outcome === 'cancelled') return { retry: false, reason: what };
  if (end.exitCode !== null && inRanges(policy.nonRetryableExitCodes, end.exitCode))
    return { retry: false, reason: `${what}, which the job marks non-retryable` };
  let retryable: boolean;
  if (end.outcome === 'timed_out') retryable = policy.timedOut;
  else if (end.outcome === 'lost') retryable = policy.lost;
  else if (end.exitCode !== null) retryable = end.exitCode !== 0 && inRanges(policy.exitCodes, end.exitCode);
  else if (end.httpStatus !== null) retryable = inRanges(policy.httpStatuses, end.httpStatus);
  else retryable = policy.errors;
  if (!retryable) return { retry: false, reason: `${what}; the retry policy does not retry that` };
  if (end.attemptsUsed >= policy.maxAttempts)
    return { retry: false, reason: `${what}; all ${policy.maxAttempts} attempts${sinceRetry} are used` };
  // A lost attempt is retried at once: the job did not fail, its agent did.
  const delayMs = end.outcome === 'lost' ? 0 : backoffDelay(policy, end.attemptsUsed, random);
  const next = sinceRetry
    ? `attempt ${attempt + 1}, ${end.attemptsUsed + 1} of ${policy.maxAttempts}${sinceRetry}`
    : `attempt ${attempt + 1} of ${policy.maxAttempts}`;
  return { retry: true, delayMs, reason: `${what}; retrying (${next})` };
}
