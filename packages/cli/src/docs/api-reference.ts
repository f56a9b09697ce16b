// docs/api.md: the coordinator's OpenAPI document (GET /openapi.json) as a page to read:
// operations by tag with method, path, operationId, access level, parameters, request body and
// responses, then the error responses and the schemas they refer to. It reads the document
// only, never the routes, so it shows what clients are promised.
import { cell, table } from './markdown.js';

/** The parts of an OpenAPI 3.1 document this page reads (everything else is ignored). */
interface Schema {
  $ref?: string;
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  const?: unknown;
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  required?: string[];
  description?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
}
interface Content {
  schema?: Schema;
}
interface Response {
  $ref?: string;
  description?: string;
  content?: Record<string, Content>;
}
interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  description?: string;
  schema?: Schema;
}
interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content?: Record<string, Content> };
  responses?: Record<string, Response>;
  'x-drover-access'?: string;
}
export interface ApiDocument {
  info: { title: string; version: string; description?: string };
  tags?: { name: string; description?: string }[];
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema>; responses?: Record<string, Response> };
}

const METHODS = ['get', 'put', 'post', 'patch', 'delete', 'head', 'options'];
const refName = (ref: string): string => ref.slice(ref.lastIndexOf('/') + 1);
/** GitHub's anchor for a heading of plain words. */
const anchor = (heading: string): string =>
  heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

/** A one-line type: `string (date-time)`, `"a" \| "b"`, `Run[]`, a link for a named schema. */
function typeOf(s: Schema | undefined): string {
  if (!s) return '';
  if (s.$ref) return `[${refName(s.$ref)}](#${anchor(refName(s.$ref))})`;
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (s.enum) return s.enum.map((v) => `\`${JSON.stringify(v)}\``).join(', ');
  const alternatives = s.anyOf ?? s.oneOf;
  if (alternatives) return alternatives.map(typeOf).join(' or ');
  if (s.allOf) return s.allOf.map(typeOf).join(' and ');
  const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  return types
    .map((t) => {
      if (t === 'array') return `${typeOf(s.items) || 'any'}[]`;
      const kind = s.properties?.type?.const ?? (s.properties?.type?.enum?.length === 1 ? s.properties.type.enum[0] : undefined);
      if (t === 'object' && kind !== undefined) return `object (type ${JSON.stringify(kind)})`;
      if (t === 'object' && !s.properties && typeof s.additionalProperties === 'object') return `map of ${typeOf(s.additionalProperties)}`;
      return s.format ? `${t} (${s.format})` : t;
    })
    .join(' or ');
}

/** What a field accepts beyond its type: bounds and default. */
function limits(s: Schema): string {
  const out: string[] = [];
  if (s.minimum !== undefined && s.maximum !== undefined) out.push(`${s.minimum}–${s.maximum}`);
  else if (s.minimum !== undefined) out.push(`≥ ${s.minimum}`);
  else if (s.maximum !== undefined) out.push(`≤ ${s.maximum}`);
  if (s.default !== undefined) out.push(`default \`${JSON.stringify(s.default)}\``);
  return out.join(', ');
}

/**
 * An object schema's fields as table rows, nested inline objects flattened to dotted paths
 * (`executor.type`, `runs[].job`); none for anything else. Named schemas are linked, not expanded.
 */
function fieldRows(s: Schema, prefix = '', depth = 0): string[][] {
  const required = new Set(s.required ?? []);
  return Object.entries(s.properties ?? {}).flatMap(([name, f]) => {
    const row = [
      `\`${prefix}${name}\``,
      cell(typeOf(f)),
      required.has(name) ? 'yes' : '',
      cell([f.description ?? '', limits(f)].filter(Boolean).join(' ')),
    ];
    if (depth >= 3) return [row];
    const nested = f.properties
      ? fieldRows(f, `${prefix}${name}.`, depth + 1)
      : f.items?.properties
        ? fieldRows(f.items, `${prefix}${name}[].`, depth + 1)
        : [];
    return [row, ...nested];
  });
}
const FIELD_HEADER = ['field', 'type', 'required', 'meaning'];

/** A body: its content type and either a named schema or the fields of an inline object. */
function body(content: Record<string, Content> | undefined): string {
  return Object.entries(content ?? {})
    .map(([type, c]) => {
      const fields = c.schema && !c.schema.$ref ? fieldRows(c.schema) : [];
      const line = `\`${type}\`${c.schema ? `: ${typeOf(c.schema)}` : ''}`;
      return fields.length > 0 ? `${line}\n\n${table(FIELD_HEADER, fields)}` : line;
    })
    .join('\n\n');
}

/** An operation's heading: its stable operationId (short anchors), else its method and path. */
const headingOf = (method: string, path: string, op: Operation): string => op.operationId ?? `${method.toUpperCase()} ${path}`;

function operationSection(method: string, path: string, op: Operation, doc: ApiDocument): string {
  const params = (op.parameters ?? []).map((p) => [
    `\`${p.name}\``,
    p.in,
    cell(typeOf(p.schema)),
    p.required ? 'yes' : '',
    cell([p.description ?? p.schema?.description ?? '', p.schema ? limits(p.schema) : ''].filter(Boolean).join(' ')),
  ]);
  const responses = Object.entries(op.responses ?? {});
  const success = responses.filter(([status]) => !/^[45]/.test(status));
  const errors = responses.filter(([status]) => /^[45]/.test(status));
  const describe = (r: Response) => (r.$ref ? doc.components?.responses?.[refName(r.$ref)] : r) ?? {};
  return [
    `### ${headingOf(method, path, op)}`,
    op.summary ?? '',
    [`\`${method.toUpperCase()} ${path}\``, op['x-drover-access'] ? `access \`${op['x-drover-access']}\`` : ''].filter(Boolean).join(' · '),
    op.description ?? '',
    params.length > 0 ? `Parameters:\n\n${table(['name', 'in', 'type', 'required', 'meaning'], params)}` : '',
    op.requestBody ? `Request body${op.requestBody.required ? '' : ' (optional)'}: ${body(op.requestBody.content)}` : '',
    ...success.map(([status, r]) => {
      const meaning = describe(r).description === 'Default Response' ? '' : (describe(r).description ?? '');
      return `Response \`${status}\`${meaning ? ` (${meaning})` : ''}: ${body(describe(r).content) || 'no body'}`;
    }),
    errors.length > 0
      ? `Errors: ${errors
          .map(([status, r]) =>
            r.$ref ? `[\`${status}\`](#${anchor(`${status} ${refName(r.$ref)}`)})` : `\`${status}\` ${describe(r).description ?? ''}`,
          )
          .join(', ')}.`
      : '',
  ]
    .filter(Boolean)
    .join('\n\n');
}

/** Markdown for the whole document. */
export function apiReference(doc: ApiDocument): string {
  const ops = Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((method) => ({ method, path, op: item[method]! })),
  );
  const tags = [...(doc.tags ?? []).map((t) => t.name), ...ops.flatMap((o) => o.op.tags ?? [])].filter((t, i, all) => all.indexOf(t) === i);
  const untagged = ops.filter((o) => !o.op.tags?.length);
  const groups = [
    ...tags.map((name) => ({
      name,
      description: doc.tags?.find((t) => t.name === name)?.description,
      ops: ops.filter((o) => o.op.tags?.[0] === name),
    })),
    ...(untagged.length > 0 ? [{ name: 'other', description: undefined, ops: untagged }] : []),
  ].filter((g) => g.ops.length > 0);

  const index = table(
    ['operation', 'method and path', 'access'],
    groups.flatMap((g) =>
      g.ops.map(({ method, path, op }) => [
        `[${cell(op.summary ?? headingOf(method, path, op))}](#${anchor(headingOf(method, path, op))})`,
        `\`${method.toUpperCase()} ${path}\``,
        op['x-drover-access'] ?? '',
      ]),
    ),
  );
  const errorResponses = Object.entries(doc.components?.responses ?? {})
    .map(([name, r]) => ({
      name,
      r,
      status: ops.flatMap((o) => Object.entries(o.op.responses ?? {})).find(([, x]) => x.$ref?.endsWith(`/${name}`))?.[0],
    }))
    .filter((e) => e.status !== undefined);
  return [
    `${doc.info.title} ${doc.info.version}. ${doc.info.description ?? ''}`.trim(),
    index,
    ...groups.flatMap((g) => [
      `## ${g.name}`,
      g.description ?? '',
      ...g.ops.map(({ method, path, op }) => operationSection(method, path, op, doc)),
    ]),
    '## Error responses',
    'Every error is an `application/problem+json` [Problem](#problem) with a stable `code`: [API errors](api-errors.md) lists the codes. An operation lists the statuses it can answer; each means:',
    ...errorResponses.map(({ name, r, status }) => `### ${status} ${name}\n\n${r.description ?? ''}`),
    '## Schemas',
    ...Object.entries(doc.components?.schemas ?? {}).map(([name, s]) => {
      const fields = fieldRows(s);
      return [`### ${name}`, s.description ?? '', fields.length > 0 ? table(FIELD_HEADER, fields) : `${typeOf(s)}`]
        .filter(Boolean)
        .join('\n\n');
    }),
  ]
    .filter(Boolean)
    .join('\n\n');
}
