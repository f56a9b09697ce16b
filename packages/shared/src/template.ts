// Parameter templates: `{{ param.NAME }}`, `{{ run.id }}`, `{{ job.id }}`, `{{ job.name }}` and
// `{{ attempt }}` in `exec` arguments, `env` values and `http` URLs (percent-encoded), headers
// and bodies (string values inside the JSON, which is serialised afterwards). A
// value replaces its placeholder inside one string and never splits or joins argv elements,
// so a parameter holding `; rm -rf /` stays one literal argument. Any other `{{ … }}` is left
// as written.
import type { ExecutorSpec } from './job.js';

const PLACEHOLDER = /\{\{\s*(param\.([A-Za-z_][A-Za-z0-9_.-]*)|run\.id|job\.id|job\.name|attempt)\s*\}\}/g;

/** What placeholders resolve to for one attempt. */
export interface TemplateContext {
  parameters: Record<string, string>;
  runId: string;
  jobId: string;
  jobName: string;
  attempt: number;
}

/**
 * Replaces every placeholder in `text`; a parameter that is not given stays as written.
 * `encode` transforms each value filled in (URLs percent-encode them).
 */
export function renderTemplate(text: string, ctx: TemplateContext, encode: (value: string) => string = (v) => v): string {
  return text.replace(PLACEHOLDER, (whole: string, what: string, param: string | undefined) => {
    // Own keys only: `{{ param.constructor }}` must not reach Object.prototype.
    if (param !== undefined) return Object.hasOwn(ctx.parameters, param) ? encode(ctx.parameters[param] ?? '') : whole;
    if (what === 'run.id') return encode(ctx.runId);
    if (what === 'job.id') return encode(ctx.jobId);
    if (what === 'job.name') return encode(ctx.jobName);
    return String(ctx.attempt);
  });
}

/** Every string inside a JSON value, rendered; keys are left alone. */
function renderDeep(value: unknown, ctx: TemplateContext): unknown {
  if (typeof value === 'string') return renderTemplate(value, ctx);
  if (Array.isArray(value)) return value.map((v) => renderDeep(v, ctx));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, renderDeep(v, ctx)]));
  return value;
}

// Secret references (`{ secret }` in an env) are never rendered: a value is not a template.
const renderMap = <V>(m: Record<string, V> | undefined, ctx: TemplateContext): Record<string, V> | undefined =>
  m &&
  (Object.fromEntries(Object.entries(m).map(([k, v]) => [k, typeof v === 'string' ? renderTemplate(v, ctx) : v])) as Record<string, V>);

/** The executor spec with its placeholders filled in for one attempt. */
export function renderExecutor(spec: ExecutorSpec, ctx: TemplateContext): ExecutorSpec {
  switch (spec.type) {
    case 'exec':
      return { ...spec, command: spec.command.map((a) => renderTemplate(a, ctx)), env: renderMap(spec.env, ctx) };
    case 'shell':
      // The script is not rendered: a value pasted into shell code would be code. Scripts read
      // parameters from $DROVER_PARAM_<NAME>, which the shell quotes for them.
      return { ...spec, env: renderMap(spec.env, ctx) };
    case 'http':
      return {
        ...spec,
        // Percent-encoded, so a value is one path segment or query value: `a&b=c` adds no parameter.
        url: renderTemplate(spec.url, ctx, encodeURIComponent),
        headers: renderMap(spec.headers, ctx),
        body: spec.body === undefined ? undefined : (renderDeep(spec.body, ctx) as typeof spec.body),
      };
    default:
      return spec;
  }
}

/** The parameter names a spec's placeholders use, in order of first use. */
export function templateParameters(value: unknown): string[] {
  const names = new Set<string>();
  const visit = (v: unknown): void => {
    if (typeof v === 'string') {
      for (const m of v.matchAll(PLACEHOLDER)) if (m[2] !== undefined) names.add(m[2]);
    } else if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') Object.values(v).forEach(visit);
  };
  visit(value);
  return [...names];
}

/** The parts of a spec renderExecutor fills in; placeholders anywhere else (a cwd, a shell script) stay as written. */
function renderedParts(spec: ExecutorSpec): unknown[] {
  switch (spec.type) {
    case 'exec':
      return [spec.command, spec.env];
    case 'shell':
      return [spec.env];
    case 'http':
      return [spec.url, spec.headers, spec.body];
    default:
      return [];
  }
}

/** Parameters the executor's placeholders need that `given` lacks. */
export function missingParameters(spec: ExecutorSpec, given: Record<string, string>): string[] {
  return templateParameters(renderedParts(spec)).filter((name) => !Object.hasOwn(given, name) || given[name] === undefined);
}
