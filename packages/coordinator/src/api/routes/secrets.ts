// /v1/secrets: set (PUT), list (names and times only) and delete secrets. A value goes in and
// never comes out: jobs refer to a secret by name, and the dispatcher resolves it into the
// offer that sends a run to its agent.
import { Type } from '@sinclair/typebox';
import { SECRET_NAME_PATTERN } from '@drover/shared';
import { DomainError, invalidInput } from '../../domain-error.js';
import { deleteSecret, listSecrets, putSecret } from '../../store/secrets.js';
import { DEFAULT_NAMESPACE, inNamespace } from '../access.js';
import { defineOperation, type AnyOperation, type Caller } from '../operation.js';

/** Largest secret value accepted. */
export const MAX_SECRET_BYTES = 64 * 1024;

const SecretInfoSchema = Type.Object(
  {
    name: Type.String(),
    namespace: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'SecretInfo', description: 'A secret as the API shows it: never its value.' },
);

const NamespaceQuery = Type.Object(
  { namespace: Type.Optional(Type.String({ minLength: 1, description: `The secret's namespace; default "${DEFAULT_NAMESPACE}".` })) },
  { additionalProperties: false },
);

const NameParams = Type.Object({ name: Type.String({ pattern: SECRET_NAME_PATTERN }) });

/** Refuses a namespace the caller may not touch, as a 404 would hide its secrets' existence. */
function checkNamespace(caller: Caller, namespace: string): void {
  const p = caller.principal;
  if (!inNamespace(p, namespace))
    throw new DomainError(
      'FORBIDDEN',
      `this token may not touch namespace "${namespace}"; it holds ${p.namespaces === 'all' ? 'all' : p.namespaces.join(', ') || 'none'}`,
    );
  caller.audit.namespace = namespace;
}

const noKey = () =>
  new DomainError(
    'SECRETS_KEY_NOT_CONFIGURED',
    'this coordinator has no secrets key, so it cannot encrypt secrets: start it with DROVER_SECRETS_KEY (or --secrets-key-file) set to 32 random bytes, e.g. "openssl rand -hex 32"',
  );

const putSecretOperation = defineOperation({
  operationId: 'putSecret',
  method: 'PUT',
  path: '/v1/secrets/{name}',
  summary: 'Set a secret (its value is never readable back)',
  description:
    'Creates (201) or replaces (204) the secret. Jobs use it as `"env": { "VAR": { "secret": "<name>" } }` in an exec or shell executor; the value is encrypted at rest and only sent to the agent that runs an attempt, which masks it in the output.',
  tags: ['secrets'],
  access: 'operate',
  params: NameParams,
  body: Type.Object(
    {
      value: Type.String({ maxLength: MAX_SECRET_BYTES, description: 'The value; never shown again.' }),
      namespace: Type.Optional(Type.String({ minLength: 1, description: `Default "${DEFAULT_NAMESPACE}".` })),
    },
    { additionalProperties: false },
  ),
  responses: { 201: SecretInfoSchema, 204: Type.Null() },
  errors: ['VALIDATION_FAILED', 'FORBIDDEN', 'SECRETS_KEY_NOT_CONFIGURED'],
  handler: async ({ params: { name }, body }, caller, ctx) => {
    const namespace = body.namespace ?? DEFAULT_NAMESPACE;
    checkNamespace(caller, namespace);
    if (!ctx.secretsKey) throw noKey();
    if (Buffer.byteLength(body.value, 'utf8') > MAX_SECRET_BYTES)
      throw invalidInput([{ field: 'value', message: `longer than ${MAX_SECRET_BYTES} bytes` }]);
    const created = await putSecret(ctx.db, ctx.secretsKey, { namespace, name, value: body.value, actor: caller.principal.actor });
    // Runs waiting for this secret may go now.
    ctx.signals.queueReady();
    if (!created) return { status: 204, body: null };
    const now = new Date(ctx.now()).toISOString();
    return { status: 201, body: { name, namespace, createdAt: now, updatedAt: now }, headers: { location: `/v1/secrets/${name}` } };
  },
});

const listSecretsOperation = defineOperation({
  operationId: 'listSecrets',
  method: 'GET',
  path: '/v1/secrets',
  summary: 'List secrets: names, namespaces and times, never values',
  tags: ['secrets'],
  access: 'read',
  query: NamespaceQuery,
  responses: { 200: Type.Object({ items: Type.Array(SecretInfoSchema) }) },
  errors: ['FORBIDDEN'],
  handler: async ({ query }, caller, ctx) => {
    if (query.namespace !== undefined) checkNamespace(caller, query.namespace);
    const namespaces = query.namespace !== undefined ? [query.namespace] : caller.principal.namespaces;
    return { status: 200, body: { items: await listSecrets(ctx.db, namespaces) } };
  },
});

const deleteSecretOperation = defineOperation({
  operationId: 'deleteSecret',
  method: 'DELETE',
  path: '/v1/secrets/{name}',
  summary: 'Delete a secret; jobs that use it wait (queued, with the reason) until it is set again',
  tags: ['secrets'],
  access: 'operate',
  params: NameParams,
  query: NamespaceQuery,
  responses: { 204: Type.Null() },
  errors: ['FORBIDDEN', 'NOT_FOUND'],
  handler: async ({ params: { name }, query }, caller, ctx) => {
    const namespace = query.namespace ?? DEFAULT_NAMESPACE;
    checkNamespace(caller, namespace);
    if (!(await deleteSecret(ctx.db, namespace, name)))
      throw new DomainError('NOT_FOUND', `no secret "${name}" in namespace "${namespace}"; list them with GET /v1/secrets`);
    return { status: 204, body: null };
  },
});

export const secretOperations: readonly AnyOperation[] = [putSecretOperation, listSecretsOperation, deleteSecretOperation];
