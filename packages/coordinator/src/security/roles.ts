// The roles an API token can carry; what each may do is api/access.ts's business.

/** The roles a token can carry. `agent` tokens are join tokens: they register agents, nothing else. */
export const ROLES = ['admin', 'operator', 'submitter', 'viewer', 'agent'] as const;
export type Role = (typeof ROLES)[number];
