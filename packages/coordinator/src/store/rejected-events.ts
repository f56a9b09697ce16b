// Report events the coordinator isolated because it could not apply them: recorded with why, so
// the run's page shows what its agent sent and the coordinator could not keep.
import type { RejectedEvent } from '@drover/shared';
import type { Db } from './db.js';
import { storableText } from './agent-text.js';

/** A rejected event as GET /v1/runs/{id} shows it. */
export interface RejectedEventView {
  kind: string;
  token: number | null;
  seq: number | null;
  agentId: string;
  reason: string;
  at: string;
}

/** Bounds what a forged event can make the coordinator store. */
const MAX_TEXT = 1000;

const bounded = (text: string, max = MAX_TEXT) => storableText(text.length > max ? `${text.slice(0, max - 1)}…` : text);
const integerOrNull = (n: unknown) => (typeof n === 'number' && Number.isSafeInteger(n) ? n : null);

/** Records rejected events of one agent's report (one statement). */
export async function recordRejectedEvents(db: Db, agentId: string, rejected: readonly RejectedEvent[]): Promise<void> {
  if (rejected.length === 0) return;
  await db
    .insertInto('rejected_events')
    .values(
      rejected.map((r) => ({
        run_id: bounded(String(r.runId), 200),
        agent_id: bounded(agentId, 200),
        kind: bounded(String(r.kind), 40),
        token: integerOrNull(r.token),
        seq: integerOrNull(r.seq),
        reason: bounded(r.reason),
      })),
    )
    .execute();
}

/** The events of a run that were rejected, oldest first (at most `limit`). */
export async function getRejectedEvents(db: Db, runId: string, limit = 100): Promise<RejectedEventView[]> {
  const rows = await db
    .selectFrom('rejected_events')
    .select(['kind', 'token', 'seq', 'agent_id', 'reason', 'at'])
    .where('run_id', '=', runId)
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    kind: r.kind,
    token: r.token === null ? null : Number(r.token),
    seq: r.seq === null ? null : Number(r.seq),
    agentId: r.agent_id,
    reason: r.reason,
    at: new Date(r.at).toISOString(),
  }));
}
