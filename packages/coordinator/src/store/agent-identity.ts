// Agent identity rows (migrations/0011_agent_identity.sql): the key an agent joined with,
// the namespaces it may take runs of, and revocation.
import { sql } from 'kysely';
import type { Db } from './db.js';

/** What the coordinator knows of an agent's identity. */
export interface AgentIdentityRow {
  publicKey: string | null;
  revokedAt: Date | null;
  joinedWithToken: string | null;
  /** Its join token's namespaces; null or empty: any. */
  joinNamespaces: string[] | null;
}

/** The identity of one agent, or undefined when it never registered. */
export async function getAgentIdentity(db: Db, agentId: string): Promise<AgentIdentityRow | undefined> {
  const row = await db
    .selectFrom('agents')
    .select(['public_key', 'revoked_at', 'joined_with_token', 'join_namespaces'])
    .where('id', '=', agentId)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    publicKey: row.public_key,
    revokedAt: row.revoked_at ? new Date(row.revoked_at) : null,
    joinedWithToken: row.joined_with_token,
    joinNamespaces: row.join_namespaces,
  };
}

/** After a registration: the namespaces it is offered now, and, on a join, the key and token it joined with. */
export async function recordAgentIdentity(
  db: Db,
  agentId: string,
  namespaces: string[] | null,
  join?: { publicKey: string; tokenId: string; tokenNamespaces: string[] },
): Promise<void> {
  await db
    .updateTable('agents')
    .set({
      namespaces,
      ...(join
        ? {
            public_key: join.publicKey,
            joined_with_token: join.tokenId,
            joined_at: sql<Date>`now()`,
            join_namespaces: join.tokenNamespaces,
            revoked_at: null,
          }
        : {}),
    })
    .where('id', '=', agentId)
    .execute();
}

/**
 * Revokes an agent: its messages are refused from now on, it leaves the fleet (`gone`), and it
 * must join again with a join token created after this moment. Returns its node id, or
 * undefined when there is no such agent. Revoking twice keeps the first time.
 */
export async function revokeAgent(db: Db, agentId: string): Promise<{ nodeId: string; revokedAt: Date } | undefined> {
  const row = await db
    .updateTable('agents')
    .set({
      revoked_at: sql<Date>`coalesce(revoked_at, now())`,
      state: 'gone',
      down_since: sql<Date>`coalesce(down_since, now())`,
    })
    .where('id', '=', agentId)
    .returning(['node_id', 'revoked_at'])
    .executeTakeFirst();
  return row ? { nodeId: row.node_id, revokedAt: new Date(row.revoked_at as Date) } : undefined;
}

/** For each (run, token) of `results`, the agent the coordinator gave that attempt to (null: never offered). */
export async function assigneesOf(
  db: Db,
  results: ReadonlyArray<{ runId: string; token: number }>,
): Promise<Map<string, { agentId: string | null; currentAgentId: string | null }>> {
  const out = new Map<string, { agentId: string | null; currentAgentId: string | null }>();
  if (results.length === 0) return out;
  const input = JSON.stringify(results.map((r) => ({ id: r.runId, token: r.token })));
  const rows = await sql<{ id: string; token: string; offered_to: string | null; current_agent: string | null }>`
    SELECT i.id, i.token,
           (SELECT t.agent_id FROM run_transitions t
             WHERE t.run_id = i.id AND t.attempt_token = i.token AND t.to_state = 'offered' ORDER BY t.id DESC LIMIT 1) AS offered_to,
           r.agent_id AS current_agent
      FROM jsonb_to_recordset(${input}::jsonb) AS i(id text, token bigint)
      LEFT JOIN runs r ON r.id = i.id`.execute(db);
  for (const r of rows.rows) out.set(`${r.id}:${Number(r.token)}`, { agentId: r.offered_to, currentAgentId: r.current_agent });
  return out;
}
