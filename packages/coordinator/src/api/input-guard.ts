// One check of every request's input before any handler sees it: strings PostgreSQL cannot
// store (text refuses NUL), numbers that are not finite, and values nested deeper than any
// Drover document goes are refused with a 400 naming the field. Routes that validate bodies
// themselves (jobs) and those with schemas get the same answer, and nothing recursive ever
// walks a hostile body. Schemas alone do not do it: Ajv coerces `limit=Infinity` and `1e309`
// (JSON.parse reads it as Infinity) to Infinity, and then passes it even with a `maximum`.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { FieldError } from '@drover/shared';
import { badRequest } from './problem.js';

/** Deeper than any job definition or request body goes (a job's deepest field is ~5 levels). */
export const MAX_INPUT_DEPTH = 32;
/** Enough to name what is wrong without echoing a hostile body back. */
const MAX_REPORTED = 5;

/** Problems with `value` (named from `root`): NUL in a key or string, a number that is not finite, nesting past MAX_INPUT_DEPTH. */
export function inputErrors(value: unknown, root: string): FieldError[] {
  const errors: FieldError[] = [];
  // Iterative: a body nested 100 000 deep must not overflow the stack of its checker either.
  const stack: Array<{ v: unknown; field: string; depth: number }> = [{ v: value, field: root, depth: 0 }];
  while (stack.length > 0 && errors.length < MAX_REPORTED) {
    const { v, field, depth } = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes('\u0000')) errors.push({ field, message: 'contains a NUL character (\\u0000), which cannot be stored; remove it' });
      continue;
    }
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) errors.push({ field, message: `${v} is not a finite number; give one in range` });
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= MAX_INPUT_DEPTH) {
      errors.push({ field, message: `is nested deeper than ${MAX_INPUT_DEPTH} levels; no Drover document goes that deep` });
      continue;
    }
    for (const [k, child] of Object.entries(v)) {
      const name = field ? `${field}.${k}` : k;
      if (k.includes('\u0000')) errors.push({ field: name, message: 'has a NUL character (\\u0000) in its name; remove it' });
      else stack.push({ v: child, field: name, depth: depth + 1 });
    }
  }
  return errors;
}

/** Refuses the request with a 400 when its path parameters, query or body hold what inputErrors finds. */
function guard(req: FastifyRequest): void {
  const errors = [
    ...inputErrors(req.params, ''),
    ...inputErrors(req.query, ''),
    ...inputErrors(req.body, req.body !== null && typeof req.body === 'object' ? '' : 'body'),
  ];
  if (errors.length > 0) throw badRequest(errors.slice(0, MAX_REPORTED));
}

/** Installs the guard on every route: after schema validation (and its coercion), before any handler. */
export function installInputGuard(app: FastifyInstance): void {
  app.addHook('preHandler', async (req) => guard(req));
}
