// The audit log (migrations/0008_audit.sql): written before a response is sent, read by admins.
import type { Db } from './db.js';

export type AuditOutcome = 'ok' | 'denied' | 'failed' | 'rejected';

/** One audited event. Never put a secret value or a token in `detail`. */
export interface AuditEntry {
  /** Who acted: `token:<id>`, `agent:<id>`, `anonymous`, `dev` or `system`. */
  actor: string;
  role?: string | null;
  namespace?: string | null;
  /** What was attempted: `<METHOD> <route>` for API requests, a dotted name for security events. */
  action: string;
  target?: string | null;
  outcome: AuditOutcome;
  status?: number | null;
  ip?: string | null;
  detail?: Record<string, unknown>;
}

export interface AuditRecord extends Required<Omit<AuditEntry, 'detail'>> {
  id: string;
  at: string;
  detail: Record<string, unknown>;
}

/** Appends entries to the audit log in one statement. */
export async function recordAudit(db: Db, ...entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await db
    .insertInto('audit_log')
    .values(
      entries.map((e) => ({
        actor: e.actor,
        role: e.role ?? null,
        namespace: e.namespace ?? null,
        action: e.action,
        target: e.target ?? null,
        outcome: e.outcome,
        status: e.status ?? null,
        ip: e.ip ?? null,
        detail: JSON.stringify(e.detail ?? {}),
      })),
    )
    .execute();
}

export interface AuditFilter {
  actor?: string;
  action?: string;
  outcome?: AuditOutcome;
  namespace?: string;
  /** Only entries with an id below this (the previous page's nextCursor). */
  before?: string;
  limit: number;
}

/** Audit entries, newest first. */
export async function listAudit(db: Db, filter: AuditFilter): Promise<AuditRecord[]> {
  let q = db.selectFrom('audit_log').selectAll();
  if (filter.actor) q = q.where('actor', '=', filter.actor);
  if (filter.action) q = q.where('action', '=', filter.action);
  if (filter.outcome) q = q.where('outcome', '=', filter.outcome);
  if (filter.namespace) q = q.where('namespace', '=', filter.namespace);
  if (filter.before) q = q.where('id', '<', Number(filter.before));
  const rows = await q.orderBy('id', 'desc').limit(filter.limit).execute();
  return rows.map((r) => ({
    id: String(r.id),
    at: new Date(r.at).toISOString(),
    actor: r.actor,
    role: r.role,
    namespace: r.namespace,
    action: r.action,
    target: r.target,
    outcome: r.outcome as AuditOutcome,
    status: r.status,
    ip: r.ip,
    detail: (r.detail ?? {}) as Record<string, unknown>,
  }));
}
