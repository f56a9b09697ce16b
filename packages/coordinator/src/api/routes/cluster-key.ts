// GET /v1/cluster/key: the cluster's public key (the one coordinators sign offers, stops and
// answers to agents with), for pinning on an agent before its first join (`--coordinator-key`).
import { Type } from '@sinclair/typebox';
import { publicKeyPem } from '@drover/shared';
import { DomainError } from '../../domain-error.js';
import { defineOperation, type AnyOperation } from '../operation.js';

export const ClusterKeySchema = Type.Object(
  {
    publicKey: Type.String({ description: 'Ed25519 public key, base64url (43 characters): what --coordinator-key takes.' }),
    pem: Type.String({ description: 'The same key as a PEM PUBLIC KEY (SPKI).' }),
  },
  { $id: 'ClusterKey' },
);

const getClusterKey = defineOperation({
  operationId: 'getClusterKey',
  method: 'GET',
  path: '/v1/cluster/key',
  summary: "The cluster's public key, to pin on an agent before its first join (drover agent --coordinator-key)",
  tags: ['agents'],
  access: 'admin',
  responses: { 200: ClusterKeySchema },
  errors: ['CLUSTER_KEY_NOT_LOADED'],
  handler: async (_input, _caller, ctx) => {
    const publicKey = ctx.identities.clusterPublicKey;
    if (!publicKey) throw new DomainError('CLUSTER_KEY_NOT_LOADED', 'the cluster key is not loaded yet; try again');
    return { status: 200, body: { publicKey, pem: publicKeyPem(publicKey) } };
  },
});

export const clusterKeyOperations: readonly AnyOperation[] = [getClusterKey];
