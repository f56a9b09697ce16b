// Reading run log chunks in order. Chunks are stored as bytes; a JSON answer carries each as
// text when it is UTF-8, as base64 (`encoding: 'base64'`) when not; the raw answer, the bytes.
import { encodeServedLogData } from '@drover/shared';
import { sql } from 'kysely';
import type { Db } from './db.js';

export interface LogChunk {
  attempt: number;
  seq: number;
  stream: string;
  data: string;
  encoding?: 'base64';
  at: string;
}

/** Where a read resumes: after this chunk. */
export interface LogPosition {
  attempt: number;
  seq: number;
}

/** A stored chunk's bytes, for the raw answer. */
export interface LogBytes extends LogPosition {
  data: Uint8Array;
}

/** The chunks of a run after a position, only one attempt's when `attempt` is given. */
function chunksAfter(db: Db, runId: string, after: LogPosition | undefined, attempt: number | undefined) {
  let q = db.selectFrom('run_logs').where('run_id', '=', runId);
  if (attempt !== undefined) q = q.where('attempt', '=', attempt);
  if (after)
    q = q.where((eb) => eb.or([eb('attempt', '>', after.attempt), eb.and([eb('attempt', '=', after.attempt), eb('seq', '>', after.seq)])]));
  return q.orderBy('attempt').orderBy('seq');
}

/** Chunks of a run after a position (attempt, seq), oldest first; only one attempt's when `attempt` is given. */
export async function getLogChunks(
  db: Db,
  runId: string,
  after: LogPosition | undefined,
  limit = 1000,
  attempt?: number,
): Promise<LogChunk[]> {
  const rows = await chunksAfter(db, runId, after, attempt).select(['attempt', 'seq', 'stream', 'data', 'at']).limit(limit).execute();
  return rows.map((r) => ({
    attempt: r.attempt,
    seq: r.seq,
    stream: r.stream,
    ...encodeServedLogData(r.data),
    at: new Date(r.at).toISOString(),
  }));
}

/** The bytes of a run's chunks after a position, oldest first, for the raw answer. */
export async function getLogBytes(
  db: Db,
  runId: string,
  after: LogPosition | undefined,
  limit: number,
  attempt?: number,
): Promise<LogBytes[]> {
  return chunksAfter(db, runId, after, attempt).select(['attempt', 'seq', 'data']).limit(limit).execute();
}

/** Each run's state and last chunk (attempt:seq), as one text per run: what a log follower has not seen changes it. */
export async function runLogPositions(db: Db, runIds: string[]): Promise<Map<string, string>> {
  if (runIds.length === 0) return new Map();
  const res = await sql<{ id: string; state: string; attempt: number | null; seq: number | null }>`
    SELECT r.id, r.state, l.attempt, l.seq FROM runs r
      LEFT JOIN LATERAL (
        SELECT attempt, seq FROM run_logs WHERE run_id = r.id ORDER BY attempt DESC, seq DESC LIMIT 1
      ) l ON true
     WHERE r.id = ANY(${runIds})`.execute(db);
  return new Map(res.rows.map((r) => [r.id, `${r.state} ${r.attempt ?? 0}:${r.seq ?? 0}`]));
}
