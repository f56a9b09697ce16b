// Who an agent message is from. Every coordinator checks each agent message against the public
// key the agent joined with before acting on it: registration, heartbeats, reports, capacity
// events and answers to offers. A join exchanges a join token (role `agent`) for a recorded key.
//
//   register ─ join? ── live join token of role agent ─▶ record key, namespaces ─▶ agent.joined
//            └ signed ─ key on record, not revoked, signature ok ─▶ accepted
//   heartbeat · report · capacity · offer-reply ─ the same check, keys cached per agent
//
// With identity required (the coordinator's default once the API has auth; not with
// `--insecure` nor in `drover dev`), an agent without a recorded key is refused. Without it,
// unsigned messages are accepted as before, but a signed one is still checked, and a revoked
// agent is refused either way.
import type { KeyObject } from 'node:crypto';
import {
  checkSignature,
  privateKeyFromPem,
  publicKeyFromText,
  signMessage,
  signRefusal,
  type MessageAuth,
  type SignedKind,
} from '@drover/shared';
import type { Db } from '../store/db.js';
import { recordAudit, type AuditEntry } from '../store/audit.js';
import { findLiveToken } from '../store/tokens.js';
import { getAgentIdentity, type AgentIdentityRow } from '../store/agent-identity.js';
import { loadCoordinatorKey } from '../store/coordinator-key.js';
import type { Logger } from 'pino';

/** How long a cached key is trusted without a look at the database (a missed revocation broadcast heals within it). */
const CACHE_MS = 30_000;
/** The same refusal from the same sender is audited at most once in this time, so a flood cannot flood the log. */
const AUDIT_DEDUPE_MS = 10_000;

export interface IdentityDeps {
  db: Db;
  log: Logger;
  now: () => number;
  /** Whether agents must have joined (checked per message: the setting may come from options not compiled yet). */
  required: () => boolean;
}

/**
 * A refused agent message: a 4xx client error the agent turns into a clear log line. The bus's
 * inbound side (services/bus-errors.ts) sends it as the transport's client error.
 */
export class AgentRefusal extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly type: string,
    public data?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AgentRefusal';
  }
}

function refusal(status: number, type: string, message: string, data?: Record<string, unknown>): AgentRefusal {
  return new AgentRefusal(message, status, type, data);
}

interface CachedIdentity {
  row: AgentIdentityRow | undefined;
  key: KeyObject | null;
  at: number;
}

/** What a registration was admitted as. */
export interface Admission {
  /** The namespaces the agent is offered runs of; null: any. */
  namespaces: string[] | null;
  /** Set when this registration joined: what to record once the agent row exists. */
  join?: { publicKey: string; tokenId: string; tokenNamespaces: string[] };
}

/** The intersection of what the join token allows and what the agent asks for; null is "any". */
export function effectiveNamespaces(tokenNamespaces: readonly string[] | null, own: readonly string[] | undefined): string[] | null {
  const allowed = tokenNamespaces && tokenNamespaces.length > 0 ? [...tokenNamespaces] : null;
  if (!own || own.length === 0) return allowed;
  return allowed === null ? [...own] : allowed.filter((n) => own.includes(n));
}

export class AgentIdentities {
  private readonly cache = new Map<string, CachedIdentity>();
  private readonly audited = new Map<string, number>();
  /** Signatures seen within the window, in two generations: an exact replay is refused. */
  private seen = new Set<string>();
  private seenBefore = new Set<string>();
  private seenSince = 0;
  private clusterKey: { key: KeyObject; publicKey: string } | undefined;

  constructor(private readonly deps: IdentityDeps) {}

  /** Reads (or, on a new cluster, creates) the key coordinators sign what they send agents with. */
  async loadClusterKey(): Promise<void> {
    const k = await loadCoordinatorKey(this.deps.db);
    this.clusterKey = { key: privateKeyFromPem(k.privateKeyPem), publicKey: k.publicKey };
  }

  /** The cluster's public key, handed to agents at registration (undefined before loadClusterKey). */
  get clusterPublicKey(): string | undefined {
    return this.clusterKey?.publicKey;
  }

  /** Signs a message to the agent on `nodeId` with the cluster's key (undefined before loadClusterKey). */
  signFor(kind: SignedKind, nodeId: string, message: object): MessageAuth | undefined {
    return this.clusterKey && signMessage(this.clusterKey.key, kind, nodeId, message, this.deps.now());
  }

  /**
   * Signs an answer to the agent on `nodeId` (`registered`, `heartbeat-answer`, `report-answer`),
   * naming the request it answers by its nonce `re`; agents act only on answers signed so.
   */
  signAnswer<T extends { auth?: MessageAuth | undefined; re?: string | undefined }>(
    kind: SignedKind,
    nodeId: string,
    answer: T,
    re: string | undefined,
  ): T {
    if (re !== undefined) answer.re = re;
    const auth = this.signFor(kind, nodeId, answer);
    if (auth) answer.auth = auth;
    return answer;
  }

  /**
   * Signs a refusal (a 4xx client error) to the agent on `nodeId`, answering the request of nonce
   * `re`: agents that pinned the cluster's key act on no other. Any other error is returned as is.
   */
  signRefusal(err: unknown, nodeId: string, re: string | undefined): unknown {
    if (!this.clusterKey || !(err instanceof AgentRefusal)) return err;
    const signed = signRefusal(this.clusterKey.key, nodeId, { type: err.type, code: err.code, message: err.message }, re, this.deps.now());
    err.data = { ...err.data, ...signed };
    return err;
  }

  /** Forgets a cached identity (it joined again, or was revoked). */
  invalidate(agentId: string): void {
    this.cache.delete(agentId);
  }

  private async identity(agentId: string): Promise<CachedIdentity> {
    const now = this.deps.now();
    const hit = this.cache.get(agentId);
    if (hit && now - hit.at < CACHE_MS) return hit;
    const row = await getAgentIdentity(this.deps.db, agentId);
    let key: KeyObject | null = null;
    if (row?.publicKey) {
      try {
        key = publicKeyFromText(row.publicKey);
      } catch {
        key = null;
      }
    }
    const entry = { row, key, at: now };
    // Agents that never registered are not cached: there could be any number of such ids.
    if (row) this.cache.set(agentId, entry);
    return entry;
  }

  private async audit(entry: AuditEntry, dedupeKey: string): Promise<void> {
    const now = this.deps.now();
    const last = this.audited.get(dedupeKey);
    if (last !== undefined && now - last < AUDIT_DEDUPE_MS) return;
    this.audited.set(dedupeKey, now);
    if (this.audited.size > 10_000) for (const [k, at] of this.audited) if (now - at >= AUDIT_DEDUPE_MS) this.audited.delete(k);
    await recordAudit(this.deps.db, entry).catch((err: unknown) => this.deps.log.error({ err }, 'could not write an audit record'));
  }

  private replayed(auth: MessageAuth): boolean {
    const now = this.deps.now();
    // Generations of one window each: a signature older than two windows is refused by its time anyway.
    if (now - this.seenSince > 60_000) {
      this.seenBefore = this.seen;
      this.seen = new Set();
      this.seenSince = now;
    }
    if (this.seen.has(auth.sig) || this.seenBefore.has(auth.sig)) return true;
    this.seen.add(auth.sig);
    return false;
  }

  /**
   * Checks a message that speaks for `agentId` before it is acted on; throws a client error
   * (and audits it) when it must be refused. `nodeId` is the Moleculer node it came from.
   */
  async verify(
    kind: SignedKind,
    agentId: string,
    message: { auth?: MessageAuth | undefined },
    nodeId: string | null | undefined,
  ): Promise<void> {
    const { row, key } = await this.identity(agentId);
    if (row?.revokedAt) {
      await this.audit(
        {
          actor: `agent:${agentId}`,
          role: 'agent',
          action: 'agent.revoked_message',
          target: agentId,
          outcome: 'rejected',
          detail: { kind, nodeId, revokedAt: row.revokedAt.toISOString() },
        },
        `revoked:${agentId}:${kind}`,
      );
      throw refusal(
        403,
        'AGENT_REVOKED',
        `agent ${agentId} was revoked at ${row.revokedAt.toISOString()}: it must join again with a new join token`,
      );
    }
    if (key) {
      const check = checkSignature(key, kind, agentId, message, this.deps.now());
      const ok = check === 'ok' && message.auth !== undefined && !this.replayed(message.auth);
      if (!ok) {
        const why = check === 'ok' ? 'replayed' : check;
        await this.audit(
          {
            actor: message.auth?.agentId ? `agent:${message.auth.agentId}` : `node:${nodeId ?? 'unknown'}`,
            role: 'agent',
            action: 'agent.impersonation',
            target: agentId,
            outcome: 'rejected',
            detail: { kind, claimedAgentId: agentId, signedBy: message.auth?.agentId ?? null, nodeId, check: why },
          },
          `impersonation:${agentId}:${nodeId}:${kind}:${why}`,
        );
        this.deps.log.warn({ agentId, nodeId, kind, check: why }, 'refused an agent message whose signature does not hold');
        throw refusal(401, 'AGENT_SIGNATURE_INVALID', `the ${kind} message for agent ${agentId} is not signed by its key (${why})`);
      }
      return;
    }
    // Refused: a message for an agent on record without a key, and one for an id with no record
    // at all (else anyone could heartbeat or report for made-up ids) — except a signed heartbeat:
    // its agent joined and the coordinators lost it, and the answer (`known: false`) makes it register.
    if (this.deps.required() && (row || !(kind === 'heartbeat' && message.auth))) {
      await this.audit(
        {
          actor: `node:${nodeId ?? 'unknown'}`,
          action: 'agent.unauthenticated',
          target: agentId,
          outcome: 'rejected',
          detail: { kind, nodeId, ...(row ? {} : { unknownAgent: true }) },
        },
        // Unknown ids are many: one record per sending node and kind.
        row ? `unauth:${agentId}:${kind}` : `unauth-unknown:${nodeId}:${kind}`,
      );
      throw refusal(
        401,
        'AGENT_NOT_JOINED',
        `agent ${agentId} has not joined with a join token, and this coordinator requires agent identity`,
      );
    }
  }

  /**
   * Admits a registration: a join (a live join token, a key, proof of holding it) or a message
   * signed by the key on record. Throws a client error, audited, when the agent must be refused.
   */
  async admit(
    req: {
      agentId: string;
      publicKey?: string | undefined;
      join?: { token: string } | undefined;
      namespaces?: string[] | undefined;
      auth?: MessageAuth | undefined;
    },
    nodeId: string | null | undefined,
  ): Promise<Admission> {
    const agentId = req.agentId;
    if (!req.join) {
      const { row, key } = await this.identity(agentId);
      if (!key && !row?.revokedAt && this.deps.required()) {
        await this.audit(
          {
            actor: `node:${nodeId ?? 'unknown'}`,
            action: 'agent.unauthenticated',
            target: agentId,
            outcome: 'rejected',
            detail: { kind: 'register', nodeId },
          },
          `unauth:${agentId}:register`,
        );
        throw refusal(401, 'AGENT_IDENTITY_REQUIRED', 'this coordinator requires agent identity, and this agent has not joined');
      }
      await this.verify('register', agentId, req, nodeId);
      return { namespaces: effectiveNamespaces(row?.joinNamespaces ?? null, req.namespaces) };
    }

    const denyJoin = async (why: string, detail: Record<string, unknown> = {}) =>
      this.audit(
        {
          actor: `node:${nodeId ?? 'unknown'}`,
          role: 'agent',
          action: 'agent.join_refused',
          target: agentId,
          outcome: 'denied',
          detail: { why, nodeId, ...detail },
        },
        `join:${agentId}:${nodeId}:${why}`,
      );
    const token = await findLiveToken(this.deps.db, req.join.token, new Date(this.deps.now()));
    if (!token || token.role !== 'agent') {
      await denyJoin(token ? `token ${token.id} has role ${token.role}, not agent` : 'unknown, expired or revoked token');
      throw refusal(401, 'JOIN_TOKEN_INVALID', 'the join token is not a live token of role agent');
    }
    let key: KeyObject;
    try {
      key = publicKeyFromText(req.publicKey ?? '');
    } catch (err) {
      throw refusal(400, 'BAD_PUBLIC_KEY', `the agent's public key is not an Ed25519 key: ${(err as Error).message}`);
    }
    const check = checkSignature(key, 'register', agentId, req, this.deps.now());
    if (check !== 'ok') {
      await denyJoin(`signature ${check}`, { tokenId: token.id });
      throw refusal(401, 'AGENT_SIGNATURE_INVALID', `the join is not signed by the key it presents (${check})`);
    }
    const { row } = await this.identity(agentId);
    if (row?.revokedAt && new Date(token.createdAt) <= row.revokedAt) {
      await denyJoin('join token older than the revocation', { tokenId: token.id, revokedAt: row.revokedAt.toISOString() });
      throw refusal(
        403,
        'AGENT_REVOKED',
        `agent ${agentId} was revoked at ${row.revokedAt.toISOString()} and this join token is older: create a new one`,
      );
    }
    if (row?.publicKey && !row.revokedAt && row.publicKey !== req.publicKey) {
      await this.audit(
        {
          actor: `node:${nodeId ?? 'unknown'}`,
          role: 'agent',
          action: 'agent.impersonation',
          target: agentId,
          outcome: 'rejected',
          detail: { kind: 'join', claimedAgentId: agentId, tokenId: token.id, nodeId, check: 'another key is on record' },
        },
        `impersonation:${agentId}:${nodeId}:join`,
      );
      throw refusal(403, 'AGENT_KEY_MISMATCH', `agent ${agentId} already joined with another key`);
    }
    this.invalidate(agentId);
    await this.audit(
      {
        actor: `agent:${agentId}`,
        role: 'agent',
        action: 'agent.joined',
        target: agentId,
        outcome: 'ok',
        detail: { tokenId: token.id, namespaces: token.namespaces, nodeId, rejoined: row?.revokedAt ? true : undefined },
      },
      `joined:${agentId}:${req.publicKey}`,
    );
    return {
      namespaces: effectiveNamespaces(token.namespaces, req.namespaces),
      join: { publicKey: req.publicKey as string, tokenId: token.id, tokenNamespaces: token.namespaces },
    };
  }

  /** Audits results an agent sent for attempts it was never given (another agent's run, or none). */
  async auditUnassigned(
    senderId: string,
    nodeId: string | null | undefined,
    results: ReadonlyArray<{ runId: string; token: number; assignedTo: string | null }>,
  ): Promise<void> {
    if (results.length === 0) return;
    this.deps.log.warn({ agentId: senderId, nodeId, runs: results }, 'refused results for runs not assigned to the sending agent');
    await recordAudit(
      this.deps.db,
      ...results.map((r) => ({
        actor: `agent:${senderId}`,
        role: 'agent',
        action: 'agent.unassigned_result',
        target: r.runId,
        outcome: 'rejected' as const,
        detail: { senderAgentId: senderId, assignedAgentId: r.assignedTo, token: r.token, nodeId },
      })),
    ).catch((err: unknown) => this.deps.log.error({ err }, 'could not write an audit record'));
  }
}
