// Requests generated from an OpenAPI document with fast-check: valid ones built from each
// operation's schemas, and hostile ones (NUL, huge numbers, long strings, deep nesting,
// wrong types, bad percent-encoding, odd headers) mixed in, for the API fuzz test.
import fc from 'fast-check';

/** The part of an OpenAPI 3.1 document this generator reads. */
export interface OpenApiDoc {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, JsonSchema> };
}
export interface OpenApiOperation {
  parameters?: Array<{ in: 'path' | 'query' | 'header'; name: string; required?: boolean; schema?: JsonSchema }>;
  requestBody?: { content: Record<string, { schema?: JsonSchema }> };
  'x-drover-access'?: string;
}
export type JsonSchema = { [key: string]: unknown };

/** One operation of the document: its method, its path template and its description. */
export interface Operation {
  readonly method: string;
  readonly path: string;
  readonly op: OpenApiOperation;
}

/** A request as sent on the wire: the raw path (already encoded, possibly badly), headers and body. */
export interface FuzzRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

/** Ids of things that exist, so that generated requests also reach past the 404s. */
export type Fixtures = Record<string, readonly string[]>;

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** Every operation of the document, in document order. */
export function operationsOf(doc: OpenApiDoc): Operation[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => ({ method: method.toUpperCase(), path, op })),
  );
}

/** Strings a server must refuse or survive: NUL, control characters, long, non-ASCII, numeric edge cases. */
const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', '\u0000', 'a\u0000b', ' ', '\n', '..', '../etc/passwd', '%', '%zz', '🐄', '\uFFFF', '\uD800'),
  fc.constantFrom('Infinity', '-Infinity', 'NaN', '1e309', '-1e309', '1e-400', '0x10', '-0', '9'.repeat(400), '99999999999999999999'),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({ unit: 'grapheme', minLength: 90, maxLength: 600 }),
  // Just past a name (200), past a path parameter (4096), past the header limit (16 KiB).
  fc.constantFrom(201, 4097, 20_000).map((n) => 'x'.repeat(n)),
  fc.string({ maxLength: 12 }).map((s) => `${s}\u0000${s}`),
);

/** JSON values of a wrong shape for any field. */
const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  fc.constantFrom(null, true, 0, -1, 1e308, -1e308, 2 ** 53 + 1, 0.5, [], {}, [null], { '\u0000': 1 }),
  fc.jsonValue({ maxDepth: 3 }),
);

/** A value nested `depth` levels deep, in arrays or objects. */
const deepValue = fc
  .tuple(fc.integer({ min: 50, max: 20_000 }), fc.boolean())
  .map(([depth, arrays]) => (arrays ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)));

/** Resolves `$ref`s to the document's components (one level at a time). */
function resolve(doc: OpenApiDoc, schema: JsonSchema | undefined): JsonSchema {
  let s = schema ?? {};
  for (let i = 0; i < 20 && typeof s.$ref === 'string'; i++) {
    const name = (s.$ref as string).split('/').pop()!;
    s = doc.components?.schemas?.[name] ?? {};
  }
  return s;
}

/** Values that satisfy `schema` as far as its type, enum, bounds and required members go (patterns aside). */
export function valueOf(doc: OpenApiDoc, schema: JsonSchema | undefined, depth = 0): fc.Arbitrary<unknown> {
  const s = resolve(doc, schema);
  if (depth > 6) return fc.constant(null);
  if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
  if ('const' in s) return fc.constant(s.const);
  const union = (s.anyOf ?? s.oneOf) as JsonSchema[] | undefined;
  if (union?.length) return fc.oneof(...union.map((u) => valueOf(doc, u, depth + 1)));
  if (Array.isArray(s.allOf))
    return fc
      .tuple(...(s.allOf as JsonSchema[]).map((p) => valueOf(doc, p, depth + 1)))
      .map((parts) => Object.assign({}, ...parts.filter((p) => typeof p === 'object' && p !== null)));
  const type = Array.isArray(s.type) ? (s.type as string[])[0] : (s.type as string | undefined);
  switch (type) {
    case 'integer':
    case 'number': {
      const min = typeof s.minimum === 'number' ? s.minimum : -1000;
      const max = typeof s.maximum === 'number' ? s.maximum : Math.max(min + 1000, 1000);
      return type === 'integer' ? fc.integer({ min, max }) : fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
    }
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(valueOf(doc, s.items as JsonSchema, depth + 1), { maxLength: 3 });
    case 'object': {
      const props = (s.properties ?? {}) as Record<string, JsonSchema>;
      const required = new Set((s.required ?? []) as string[]);
      const members = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, valueOf(doc, v, depth + 1)]));
      const optional = Object.keys(props).filter((k) => !required.has(k));
      if (Object.keys(props).length === 0)
        return fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 });
      return fc.record(members, { requiredKeys: [...required] as never[] }).map((r) => {
        for (const k of optional) if (!(k in r)) delete (r as Record<string, unknown>)[k];
        return r;
      });
    }
    default: {
      const minLength = typeof s.minLength === 'number' ? s.minLength : 0;
      const maxLength = Math.min(typeof s.maxLength === 'number' ? s.maxLength : 24, 64);
      return fc.stringMatching(/^[a-z][a-z0-9-]*$/).filter((x) => x.length >= minLength && x.length <= Math.max(maxLength, minLength));
    }
  }
}

/** A valid value with one member (at any depth of objects) replaced by a wrong or hostile one. */
function mutated(value: unknown): fc.Arbitrary<unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.keys(value).length === 0) return wrongValue;
  const keys = Object.keys(value);
  return fc.tuple(fc.constantFrom(...keys), fc.boolean()).chain(([key, deeper]) => {
    const inner = (value as Record<string, unknown>)[key];
    return (deeper ? mutated(inner) : wrongValue).map((v) => ({ ...value, [key]: v }));
  });
}

/** A body for `op`: valid, one field wrong, NUL inside, deeply nested, not JSON or not an object. */
function bodyOf(doc: OpenApiDoc, op: OpenApiOperation): fc.Arbitrary<{ text?: string; type?: string }> {
  const schema = op.requestBody?.content['application/json']?.schema;
  const valid = valueOf(doc, schema);
  const json = (v: unknown) => ({ text: JSON.stringify(v), type: 'application/json' });
  return fc.oneof(
    { weight: 4, arbitrary: valid.map(json) },
    { weight: 4, arbitrary: valid.chain(mutated).map(json) },
    { weight: 1, arbitrary: valid.map((v) => ({ text: JSON.stringify(v).replace(/"([^"]*)"/, '"$1\\u0000"'), type: 'application/json' })) },
    { weight: 1, arbitrary: deepValue.map((text) => ({ text, type: 'application/json' })) },
    { weight: 1, arbitrary: wrongValue.map(json) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        { text: '{', type: 'application/json' },
        { text: '{"a":1,}', type: 'application/json' },
        { text: 'null', type: 'application/json' },
        { text: '{}', type: 'text/plain' },
        { text: '{}', type: 'application/x-www-form-urlencoded' },
        { text: '{}', type: 'application/json; charset=latin1' },
        { text: '{}', type: 'multipart/form-data; boundary=x' },
        { text: '{}' },
        { text: 'x'.repeat(1024 * 1024 + 10), type: 'application/json' },
        { text: '"\uD800"', type: 'application/json' },
      ),
    },
  );
}

/** Percent-encodes as UTF-8 (a lone surrogate, which encodeURIComponent refuses, goes as U+FFFD). */
const encode = (s: string): string =>
  Buffer.from(s, 'utf8')
    .toString('latin1')
    .replace(/[^A-Za-z0-9._~-]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);

/** A path or query value on the wire: encoded, or raw with broken percent-encoding. */
const wireValue = (v: fc.Arbitrary<unknown>): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 6, arbitrary: v.map((x) => encode(typeof x === 'string' ? x : (JSON.stringify(x) ?? ''))) },
    { weight: 1, arbitrary: fc.constantFrom('%00', 'a%00', '%zz', '%', '%E0%A4%A', '%C0%80', '%FF', '%2F', '%2e%2e') },
  );

/** Requests for `op`: its path with fixtures or hostile ids, query values, a body, odd headers or methods. */
export function requestsOf(doc: OpenApiDoc, operation: Operation, fixtures: Fixtures, token: string): fc.Arbitrary<FuzzRequest> {
  const params = operation.op.parameters ?? [];
  const pathParams = params.filter((p) => p.in === 'path');
  const queryParams = params.filter((p) => p.in === 'query');
  const idOf = (name: string) => {
    const known = fixtures[`${operation.path}:${name}`] ?? fixtures[name] ?? [];
    return wireValue(
      fc.oneof({ weight: 3, arbitrary: known.length ? fc.constantFrom(...known) : hostileString }, { weight: 2, arbitrary: hostileString }),
    );
  };
  const path = fc
    .tuple(...pathParams.map((p) => idOf(p.name)))
    .map((values) => pathParams.reduce((acc, p, i) => acc.replace(`{${p.name}}`, values[i]!), operation.path));
  const query = fc
    .tuple(
      ...queryParams.map((p) =>
        fc.option(wireValue(fc.oneof({ weight: 2, arbitrary: valueOf(doc, p.schema) }, { weight: 1, arbitrary: wrongValue })), {
          nil: undefined,
        }),
      ),
      fc.option(fc.tuple(fc.constantFrom('bogus', 'limit', '%00', 'a[b]'), wireValue(hostileString)), { nil: undefined }),
    )
    .map((values) => {
      const parts = queryParams.flatMap((p, i) => (values[i] === undefined ? [] : [`${encodeURIComponent(p.name)}=${values[i]}`]));
      const extra = values[queryParams.length] as [string, string] | undefined;
      if (extra) parts.push(`${extra[0]}=${extra[1]}`);
      return parts.length ? `?${parts.join('&')}` : '';
    });
  const hasBody = operation.op.requestBody !== undefined;
  const body = hasBody ? fc.option(bodyOf(doc, operation.op), { nil: undefined, freq: 8 }) : fc.constant(undefined);
  const auth = fc.oneof(
    { weight: 12, arbitrary: fc.constant(`Bearer ${token}`) },
    { weight: 1, arbitrary: fc.constantFrom(undefined, 'Bearer', 'Bearer drv_nope', 'Basic eA==', `Bearer ${token}x`) },
  );
  const extraHeaders: fc.Arbitrary<Record<string, string>> = fc.oneof(
    { weight: 10, arbitrary: fc.constant({}) },
    { weight: 1, arbitrary: wireValue(hostileString).map((v) => ({ 'idempotency-key': v.slice(0, 2000) })) },
    { weight: 1, arbitrary: fc.constant({ 'x-huge': 'h'.repeat(20_000) }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<Record<string, string>>(
        { accept: 'text/html' },
        { 'content-encoding': 'gzip' },
        { 'content-type': 'application/json' },
        { 'transfer-encoding': 'chunked' },
      ),
    },
  );
  const method = fc.oneof(
    { weight: 20, arbitrary: fc.constant(operation.method) },
    { weight: 1, arbitrary: fc.constantFrom('PUT', 'OPTIONS', 'TRACE', 'PROPFIND', 'HEAD', 'PATCH', 'DELETE') },
  );
  return fc.record({ method, path, query, body, auth, extraHeaders }).map((r) => {
    const headers: Record<string, string> = { ...r.extraHeaders };
    if (r.auth) headers.authorization = r.auth;
    if (r.body?.type) headers['content-type'] = r.body.type;
    // A HEAD with a body would be read as a second request: a client bug, not the server's.
    const body = r.method === 'HEAD' ? undefined : r.body?.text;
    return { method: r.method, path: r.path + r.query, headers, ...(body !== undefined ? { body } : {}) };
  });
}
