/** Tokens for tests of a coordinator that requires them. */
import type { ApiClient } from './http.js';

/**
 * Creates a join token (role `agent`) through the API, optionally limited to namespaces;
 * throws with the problem body when the API refuses.
 */
export async function createJoinToken(client: ApiClient, namespaces?: string[]): Promise<string> {
  const res = await client.post<{ token: string }>('/v1/tokens', { role: 'agent', ...(namespaces ? { namespaces } : {}) });
  if (res.status !== 201) throw new Error(`POST /v1/tokens (role agent) answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.token;
}
