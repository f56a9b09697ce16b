// GET /v1/cluster/key: the cluster's public key (the one coordinators sign offers, stops and
// answers to agents with), for pinning on an agent before its first join (`--coordinator-key`).
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { publicKeyPem } from '@drover/shared';
import type { CoordinatorContext } from '../../context.js';
import { HttpProblem } from '../problem.js';
import { ProblemSchema } from '../schemas.js';

export const ClusterKeySchema = Type.Object(
  {
    publicKey: Type.String({ description: 'Ed25519 public key, base64url (43 characters): what --coordinator-key takes.' }),
    pem: Type.String({ description: 'The same key as a PEM PUBLIC KEY (SPKI).' }),
  },
  { $id: 'ClusterKey' },
);

export async function clusterKeyRoutes(app: FastifyInstance, ctx: CoordinatorContext): Promise<void> {
  app.get(
    '/v1/cluster/key',
    {
      config: { access: 'admin' },
      schema: {
        summary: "The cluster's public key, to pin on an agent before its first join (drover agent --coordinator-key)",
        tags: ['agents'],
        response: { 200: ClusterKeySchema, 503: ProblemSchema },
      },
    },
    async () => {
      const publicKey = ctx.identities.clusterPublicKey;
      if (!publicKey) throw new HttpProblem('CLUSTER_KEY_NOT_LOADED', 'the cluster key is not loaded yet; try again');
      return { publicKey, pem: publicKeyPem(publicKey) };
    },
  );
}
