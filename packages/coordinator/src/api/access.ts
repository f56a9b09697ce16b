// Who may call what. Every route declares the access it needs in `config.access`; the auth hook
// (api/auth.ts) resolves the caller into a Principal and refuses a call its role does not grant.
// Namespaced data (jobs, runs, dead letters, tokens, secrets) is further filtered by the
// principal's namespaces inside the handlers.

import { ROLES, type Role } from '../security/roles.js';

export { ROLES, type Role };
export { DEFAULT_NAMESPACE } from '@drover/shared';

/**
 * What a route needs:
 * - `public`: anyone, even without a token (health checks, the OpenAPI document, dashboard assets);
 * - `read`: viewer and above — read jobs, runs, logs, agents, the fleet;
 * - `trigger`: submitter and above — start runs of existing jobs;
 * - `operate`: operator and above — create, change and delete jobs, cancel and retry runs,
 *   handle dead letters, set secrets, drain/cordon agents;
 * - `admin`: admin only — tokens, the audit log, revoking agents.
 */
export const ACCESS_LEVELS = ['public', 'read', 'trigger', 'operate', 'admin'] as const;
export type Access = (typeof ACCESS_LEVELS)[number];

/** The roles that hold each access level. */
export const ACCESS_GRANTS: Readonly<Record<Access, readonly Role[]>> = {
  public: ROLES,
  read: ['admin', 'operator', 'submitter', 'viewer'],
  trigger: ['admin', 'operator', 'submitter'],
  operate: ['admin', 'operator'],
  admin: ['admin'],
};

/** True when `role` holds `access`. */
export function grants(role: Role, access: Access): boolean {
  return ACCESS_GRANTS[access].includes(role);
}

/** The caller of a request, resolved once by the auth hook. */
export interface Principal {
  /** For the audit log: `token:<id>`, `anonymous` or `dev` (auth disabled). */
  readonly actor: string;
  readonly role: Role;
  /** The namespaces it may see and touch; `all` for admins and when auth is disabled. */
  readonly namespaces: readonly string[] | 'all';
  readonly tokenId: string | null;
}

/** True when the principal may see or touch data of `namespace`. */
export function inNamespace(principal: Principal, namespace: string): boolean {
  return principal.namespaces === 'all' || principal.namespaces.includes(namespace);
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The access level the route needs (see api/access.ts). Every route must declare one. */
    access?: Access;
    /** Whether each call is audited; unset: when its method can change something (POST, PUT, PATCH, DELETE). */
    audit?: boolean;
  }
}

/**
 * Why the principal may not act on an agent offered runs of `agentNamespaces` (null: any
 * namespace), or undefined when it may: it must hold every namespace the agent serves, so an
 * operator of one team cannot take capacity away from another.
 */
export function agentOutOfReach(principal: Principal, agentNamespaces: readonly string[] | null): string | undefined {
  if (principal.namespaces === 'all') return undefined;
  const held = principal.namespaces.join(', ') || 'none';
  if (agentNamespaces === null)
    return `it serves every namespace, and this token holds only ${held}: an admin (or a token of all namespaces) must do it`;
  const missing = agentNamespaces.filter((n) => !principal.namespaces.includes(n));
  if (missing.length === 0) return undefined;
  return `it serves namespace(s) ${missing.join(', ')}, which this token does not hold (it holds ${held})`;
}
