// /v1/secrets: set (PUT), list (names and times only) and delete secrets. A value goes in and
// never comes out: jobs refer to a secret by name, and the dispatcher resolves it into the
// offer that sends a run to its agent.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { SECRET_NAME_PATTERN } from '@drover/shared';
import type { CoordinatorContext } from '../../context.js';
import { DEFAULT_NAMESPACE, inNamespace, type Principal } from '../access.js';
import { HttpProblem } from '../problem.js';
import { ProblemSchema } from '../schemas.js';
import { deleteSecret, listSecrets, putSecret } from '../../store/secrets.js';

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

/** The caller, read defensively: without the auth hook (tests building a bare API) everything is visible. */
function principalOf(req: FastifyRequest): Principal | undefined {
  return (req as { principal?: Principal }).principal;
}

/** Refuses a namespace the caller may not touch, as a 404 would hide its secrets' existence. */
function checkNamespace(req: FastifyRequest, namespace: string): void {
  const p = principalOf(req);
  if (p && !inNamespace(p, namespace))
    throw new HttpProblem(
      'FORBIDDEN',
      `this token may not touch namespace "${namespace}"; it holds ${p.namespaces === 'all' ? 'all' : p.namespaces.join(', ') || 'none'}`,
    );
  const audit = (req as { audit?: { namespace?: string | null } }).audit;
  if (audit) audit.namespace = namespace;
}

const noKey = () =>
  new HttpProblem(
    'SECRETS_KEY_NOT_CONFIGURED',
    'this coordinator has no secrets key, so it cannot encrypt secrets: start it with DROVER_SECRETS_KEY (or --secrets-key-file) set to 32 random bytes, e.g. "openssl rand -hex 32"',
  );

export async function secretRoutes(app: FastifyInstance, ctx: CoordinatorContext): Promise<void> {
  app.put(
    '/v1/secrets/:name',
    {
      config: { access: 'operate' },
      schema: {
        summary: 'Set a secret (its value is never readable back)',
        description:
          'Creates (201) or replaces (204) the secret. Jobs use it as `"env": { "VAR": { "secret": "<name>" } }` in an exec or shell executor; the value is encrypted at rest and only sent to the agent that runs an attempt, which masks it in the output.',
        tags: ['secrets'],
        params: NameParams,
        body: Type.Object(
          {
            value: Type.String({ maxLength: MAX_SECRET_BYTES, description: 'The value; never shown again.' }),
            namespace: Type.Optional(Type.String({ minLength: 1, description: `Default "${DEFAULT_NAMESPACE}".` })),
          },
          { additionalProperties: false },
        ),
        response: { 201: SecretInfoSchema, 204: Type.Null(), 400: ProblemSchema, 403: ProblemSchema, 409: ProblemSchema },
      },
    },
    async (req, reply) => {
      const { name } = req.params as { name: string };
      const body = req.body as { value: string; namespace?: string };
      const namespace = body.namespace ?? DEFAULT_NAMESPACE;
      checkNamespace(req, namespace);
      if (!ctx.secretsKey) throw noKey();
      if (Buffer.byteLength(body.value, 'utf8') > MAX_SECRET_BYTES)
        throw new HttpProblem('VALIDATION_FAILED', `value: longer than ${MAX_SECRET_BYTES} bytes`, [
          { field: 'value', message: `longer than ${MAX_SECRET_BYTES} bytes` },
        ]);
      const created = await putSecret(ctx.db, ctx.secretsKey, {
        namespace,
        name,
        value: body.value,
        actor: principalOf(req)?.actor ?? null,
      });
      // Runs waiting for this secret may go now.
      ctx.signals.queueReady();
      if (!created) return reply.status(204).send();
      const now = new Date(ctx.now()).toISOString();
      return reply.status(201).header('location', `/v1/secrets/${name}`).send({ name, namespace, createdAt: now, updatedAt: now });
    },
  );

  app.get(
    '/v1/secrets',
    {
      config: { access: 'read' },
      schema: {
        summary: 'List secrets: names, namespaces and times, never values',
        tags: ['secrets'],
        querystring: NamespaceQuery,
        response: { 200: Type.Object({ items: Type.Array(SecretInfoSchema) }), 403: ProblemSchema },
      },
    },
    async (req) => {
      const q = req.query as { namespace?: string };
      if (q.namespace !== undefined) checkNamespace(req, q.namespace);
      const namespaces = q.namespace !== undefined ? [q.namespace] : (principalOf(req)?.namespaces ?? 'all');
      return { items: await listSecrets(ctx.db, namespaces) };
    },
  );

  app.delete(
    '/v1/secrets/:name',
    {
      config: { access: 'operate' },
      schema: {
        summary: 'Delete a secret; jobs that use it wait (queued, with the reason) until it is set again',
        tags: ['secrets'],
        params: NameParams,
        querystring: NamespaceQuery,
        response: { 204: Type.Null(), 403: ProblemSchema, 404: ProblemSchema },
      },
    },
    async (req, reply) => {
      const { name } = req.params as { name: string };
      const namespace = (req.query as { namespace?: string }).namespace ?? DEFAULT_NAMESPACE;
      checkNamespace(req, namespace);
      if (!(await deleteSecret(ctx.db, namespace, name)))
        throw new HttpProblem('NOT_FOUND', `no secret "${name}" in namespace "${namespace}"; list them with GET /v1/secrets`);
      return reply.status(204).send();
    },
  );
}
