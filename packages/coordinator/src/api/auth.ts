// Who is calling, and may they? Resolves `Authorization: Bearer <token>` into `req.principal`
// before anything else runs (no body is read for a refused request), refuses what the route's
// declared `config.access` does not grant, and audits the refusals. Also checks, once the API
// is built, that every route declared its access: a route without one fails the start.
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { DroverError } from '@drover/shared';
import type { CoordinatorContext } from '../context.js';
import { findLiveToken, touchToken, type TokenRecord } from '../store/tokens.js';
import { recordAudit, type AuditEntry } from '../store/audit.js';
import { hashTokenSecret } from '../security/token-secret.js';
import { ACCESS_GRANTS, ACCESS_LEVELS, grants, type Access, type Principal } from './access.js';
import { HttpProblem } from './problem.js';
import { Lru } from './lru.js';

/**
 * How the API authenticates:
 * - `tokens`: bearer tokens (the default of `drover coordinator`);
 * - `insecure`: none; every request acts as `anonymous` with admin rights (`--insecure`);
 * - `dev`: none; every request acts as `dev` with admin rights (`drover dev`, on loopback).
 */
export type AuthMode = 'tokens' | 'insecure' | 'dev';

/** What a request adds to its audit record beyond method, route and params; handlers fill it in. */
export interface RequestAudit {
  /** The namespace the request touched (a job's), when it has one. */
  namespace?: string | null;
  /** What it acted on, when the route params do not say (e.g. the id of a created job). */
  target?: string | null;
  detail?: Record<string, unknown>;
  /** Set once an entry is written, so a refused request is not recorded twice. */
  recorded?: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The caller. On `public` routes without a token it is `anonymous`, with no namespaces;
     * public routes must not act on it.
     */
    principal: Principal;
    audit: RequestAudit;
  }
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Nobody in particular: what public routes see. It holds no namespace. */
const ANONYMOUS: Principal = Object.freeze({
  actor: 'anonymous',
  role: 'viewer',
  namespaces: Object.freeze([]) as readonly string[],
  tokenId: null,
});

function principalOf(token: TokenRecord): Principal {
  return {
    actor: `token:${token.id}`,
    role: token.role,
    namespaces: token.role === 'admin' ? 'all' : token.namespaces,
    tokenId: token.id,
  };
}

/** How long a resolved token is trusted without asking PostgreSQL again. */
export const TOKEN_CACHE_MS = 10_000;
/**
 * How long a resolved token is trusted while its caller's address is throttled (see
 * FailureThrottle): then nothing is looked up, so a token in use keeps working through a flood
 * from its address without the flood costing queries.
 */
export const THROTTLED_TOKEN_TRUST_MS = 60_000;
export const TOKEN_CACHE_MAX = 10_000;

/** Where tokens are looked up; PostgreSQL, or a fake in unit tests. */
export interface TokenStore {
  find(secret: string, now: Date): Promise<TokenRecord | undefined>;
  touch(tokenId: string, now: Date): Promise<unknown>;
}

/**
 * Resolved tokens by hash, so a request costs a hash and a map look-up, not a query. Only
 * tokens that exist are kept (a miss is asked again: the throttle bounds how often), at most
 * TOKEN_CACHE_MAX of them, the least recently used evicted first. A revocation on this
 * coordinator drops its entry at once; another coordinator honours it within TOKEN_CACHE_MS
 * (THROTTLED_TOKEN_TRUST_MS for an address being throttled). Expiry is checked on every use.
 */
export class TokenResolver {
  private readonly cache: Lru<string, { token: TokenRecord; at: number }>;
  private readonly touched: Lru<string, number>;
  private readonly store: TokenStore;

  constructor(
    private readonly ctx: Pick<CoordinatorContext, 'db' | 'now' | 'log'>,
    store?: TokenStore,
    max = TOKEN_CACHE_MAX,
  ) {
    this.store = store ?? { find: (secret, now) => findLiveToken(ctx.db, secret, now), touch: (id, now) => touchToken(ctx.db, id, now) };
    this.cache = new Lru(max);
    this.touched = new Lru(max);
  }

  /** The live token with this secret, from the cache when resolved within TOKEN_CACHE_MS, else from the store. */
  async resolve(secret: string): Promise<TokenRecord | undefined> {
    const now = this.ctx.now();
    const key = hashTokenSecret(secret).toString('hex');
    let token = this.fresh(key, now, TOKEN_CACHE_MS);
    if (!token) {
      token = await this.store.find(secret, new Date(now));
      if (token) this.cache.set(key, { token, at: now });
      else this.cache.delete(key);
    }
    return this.use(token, now);
  }

  /** The token only if this coordinator resolved it within `maxAgeMs`: never asks the store. */
  cached(secret: string, maxAgeMs: number): TokenRecord | undefined {
    const now = this.ctx.now();
    return this.use(this.fresh(hashTokenSecret(secret).toString('hex'), now, maxAgeMs), now);
  }

  private fresh(key: string, now: number, maxAgeMs: number): TokenRecord | undefined {
    const hit = this.cache.get(key);
    return hit && now - hit.at <= maxAgeMs ? hit.token : undefined;
  }

  private use(token: TokenRecord | undefined, now: number): TokenRecord | undefined {
    if (!token || (token.expiresAt !== null && Date.parse(token.expiresAt) <= now)) return undefined;
    // `last used` is kept to the minute: never a write per request.
    if (now - (this.touched.get(token.id) ?? 0) > 60_000) {
      this.touched.set(token.id, now);
      void this.store
        .touch(token.id, new Date(now))
        .catch((err: unknown) => this.ctx.log.warn({ err, tokenId: token.id }, 'could not record a token use'));
    }
    return token;
  }

  /** Forgets a token at once (it was revoked here). */
  forget(tokenId: string): void {
    for (const [key, hit] of [...this.cache.entries()]) if (hit.token.id === tokenId) this.cache.delete(key);
  }
}

/**
 * Failed authentications one address may have per minute. Past that its requests are answered
 * 429 before any token is looked up, with one `auth.throttled` audit record a minute instead of
 * an `auth.failed` record each, so a flood of bad tokens can neither fill the audit log nor keep
 * PostgreSQL busy. A valid token in use from the same address still works (an office behind one
 * NAT is not locked out): one this coordinator resolved within THROTTLED_TOKEN_TRUST_MS. High
 * enough for a script that forgot its token, or for the test suite's matrix.
 */
export const AUTH_FAILURES_PER_MINUTE = 100;

/** Counts failed authentications per address in one-minute windows (the 10,000 most recent addresses). */
class FailureThrottle {
  private readonly windows = new Lru<string, { start: number; failures: number; reported: boolean }>(10_000);

  private window(ip: string, now: number) {
    let w = this.windows.get(ip);
    if (!w || now - w.start >= 60_000) {
      w = { start: now, failures: 0, reported: false };
      this.windows.set(ip, w);
    }
    return w;
  }

  /** Whether the address has used up its failures this minute. */
  over(ip: string, now: number): boolean {
    return this.window(ip, now).failures >= AUTH_FAILURES_PER_MINUTE;
  }

  /** Seconds until the address may try again, or 0 when it may now; `first` once per window. */
  check(ip: string, now: number): { wait: number; first: boolean } {
    const w = this.window(ip, now);
    if (w.failures < AUTH_FAILURES_PER_MINUTE) return { wait: 0, first: false };
    const first = !w.reported;
    w.reported = true;
    return { wait: Math.max(1, Math.ceil((w.start + 60_000 - now) / 1000)), first };
  }

  failed(ip: string, now: number): void {
    this.window(ip, now).failures++;
  }
}

/** The audit entry of a request: its actor, `METHOD /route/:pattern`, params as target. */
/** The role an audit record names: none for the anonymous caller of an open API. */
export const auditRoleOf = (principal: Principal): Principal['role'] | null => (principal === ANONYMOUS ? null : principal.role);

export function auditEntryOf(req: FastifyRequest, status: number, extra: Partial<AuditEntry> = {}): AuditEntry {
  const params = (req.params ?? {}) as Record<string, unknown>;
  const target = Object.entries(params)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(',');
  const p = req.principal ?? ANONYMOUS;
  return {
    actor: p.actor,
    role: auditRoleOf(p),
    namespace: req.audit?.namespace ?? null,
    action: `${req.method} ${req.routeOptions.url ?? req.url.split('?')[0]}`,
    target: req.audit?.target ?? (target || null),
    outcome: status < 400 ? 'ok' : status === 401 || status === 403 ? 'denied' : status >= 500 ? 'failed' : 'rejected',
    status,
    ip: req.ip,
    detail: req.audit?.detail ?? {},
    ...extra,
  };
}

/**
 * Installs authentication, authorisation and the audit of every mutating request. Call before
 * any route is registered (its onRoute hook collects them to check their declarations).
 */
export function installAuth(app: FastifyInstance, ctx: CoordinatorContext, mode: AuthMode): TokenResolver {
  const resolver = new TokenResolver(ctx);
  app.decorateRequest('principal', null as unknown as Principal);
  app.decorateRequest('audit', null as unknown as RequestAudit);

  const routes: RouteOptions[] = [];
  app.addHook('onRoute', (route) => void routes.push(route));
  // After every route exists (fastify-static and other plugins add theirs late), each must have
  // said what it needs: an undeclared route would otherwise be open or closed by accident.
  app.addHook('onReady', async () => {
    const missing = routes.filter((r) => !ACCESS_LEVELS.includes(r.config?.access as Access));
    if (missing.length > 0) {
      const names = [...new Set(missing.map((r) => `${String(r.method)} ${r.url}`))].join(', ');
      throw new DroverError(
        'ROUTE_ACCESS_UNDECLARED',
        `routes without config.access: ${names}; declare one of ${ACCESS_LEVELS.join(', ')} (see api/access.ts)`,
      );
    }
  });

  const throttle = new FailureThrottle();
  const open: Principal = Object.freeze({ actor: mode === 'dev' ? 'dev' : 'anonymous', role: 'admin', namespaces: 'all', tokenId: null });

  app.addHook('onRequest', async (req, reply) => {
    req.audit = {};
    const access = req.routeOptions.config?.access;
    if (mode !== 'tokens') {
      req.principal = open;
      return;
    }
    // Public routes (and unknown paths, which answer 404) never look at a token.
    if (access === undefined || access === 'public') {
      req.principal = ANONYMOUS;
      return;
    }
    req.principal = ANONYMOUS;
    const header = req.headers.authorization;
    const m = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    const refuse = async (reason: string, detail: string) => {
      req.audit.recorded = true;
      const throttled = throttle.check(req.ip, ctx.now());
      throttle.failed(req.ip, ctx.now());
      if (throttled.wait > 0) {
        if (throttled.first)
          await recordAudit(
            ctx.db,
            auditEntryOf(req, 429, {
              action: 'auth.throttled',
              target: `${req.method} ${req.routeOptions.url}`,
              detail: { failuresPerMinute: AUTH_FAILURES_PER_MINUTE },
            }),
          );
        reply.header('retry-after', String(throttled.wait));
        throw new HttpProblem(
          'AUTH_THROTTLED',
          `more than ${AUTH_FAILURES_PER_MINUTE} requests from ${req.ip} failed authentication this minute; retry in ${throttled.wait} s with a valid token`,
        );
      }
      reply.header('www-authenticate', header === undefined ? 'Bearer realm="drover"' : 'Bearer realm="drover", error="invalid_token"');
      // The token itself is never recorded: only why it was refused.
      await recordAudit(
        ctx.db,
        auditEntryOf(req, 401, { action: 'auth.failed', target: `${req.method} ${req.routeOptions.url}`, detail: { reason } }),
      );
      throw new HttpProblem('UNAUTHENTICATED', detail);
    };
    if (!m?.[1])
      return refuse(
        header === undefined ? 'no token' : 'malformed authorization header',
        'this endpoint needs an API token: send "Authorization: Bearer <token>" (drover reads it from DROVER_TOKEN); an admin creates tokens with "drover tokens create"',
      );
    // A throttled address is answered from the cache alone: its flood costs no query.
    const token = throttle.over(req.ip, ctx.now()) ? resolver.cached(m[1], THROTTLED_TOKEN_TRUST_MS) : await resolver.resolve(m[1]);
    if (!token)
      return refuse(
        'unknown, revoked or expired token',
        'the token is unknown, revoked or expired; ask an admin for a new one ("drover tokens create")',
      );
    req.principal = principalOf(token);
    if (!grants(token.role, access)) {
      req.audit.recorded = true;
      await recordAudit(
        ctx.db,
        auditEntryOf(req, 403, { action: 'auth.forbidden', target: `${req.method} ${req.routeOptions.url}`, detail: { needs: access } }),
      );
      throw new HttpProblem(
        'FORBIDDEN',
        token.role === 'agent'
          ? 'this is an agent join token: it registers agents and calls no API endpoint; use a token of another role'
          : `role ${token.role} may not do this: it needs "${access}" access (roles ${ACCESS_GRANTS[access].join(', ')}); ask an admin for such a token`,
      );
    }
  });

  // Every mutating request is in the audit log before its response leaves, refused or not.
  app.addHook('onSend', async (req, reply, payload) => {
    const audited = req.routeOptions.config?.audit ?? MUTATING.has(req.method);
    if (!audited || !req.audit || req.audit.recorded || req.routeOptions.url === undefined) return payload;
    req.audit.recorded = true;
    const body = req.body;
    const entry = auditEntryOf(req, reply.statusCode);
    // Field names at most: a body may hold a secret, and the log must never.
    if (body && typeof body === 'object' && !Array.isArray(body) && entry.detail && !('fields' in entry.detail))
      entry.detail = { ...entry.detail, fields: Object.keys(body).slice(0, 50) };
    try {
      await recordAudit(ctx.db, entry);
    } catch (err) {
      ctx.log.error({ err, action: entry.action, actor: entry.actor }, 'could not write the audit log');
    }
    return payload;
  });

  return resolver;
}
