// Reading run log chunks in order.
import type { Db } from './db.js';

export interface LogChunk {
  attempt: number;
  seq: number;
  stream: string;
  data: string;
  at: string;
}

/** Chunks of a run after a position (attempt, seq), oldest first; only one attempt's when `attempt` is given. */
export async function getLogChunks(
  db: Db,
  runId: string,
  after: { attempt: number; seq: number } | undefined,
  limit = 1000,
  attempt?: number,
): Promise<LogChunk[]> {
  let q = db.selectFrom('run_logs').select(['attempt', 'seq', 'stream', 'data', 'at']).where('run_id', '=', runId);
  if (attempt !== undefined) q = q.where('attempt', '=', attempt);
  if (after)
    q = q.where((eb) => eb.or([eb('attempt', '>', after.attempt), eb.and([eb('attempt', '=', after.attempt), eb('seq', '>', after.seq)])]));
  const rows = await q.orderBy('attempt').orderBy('seq').limit(limit).execute();
  return rows.map((r) => ({ attempt: r.attempt, seq: r.seq, stream: r.stream, data: r.data, at: new Date(r.at).toISOString() }));
}
