// PostgreSQL's clock, read once: the cluster's one clock (clock/cluster-clock.ts keeps the offset).
import { sql } from 'kysely';
import type { Db } from './db.js';

/** PostgreSQL's clock_timestamp() in epoch ms (NaN when the answer holds none). */
export async function readDatabaseClock(db: Db): Promise<number> {
  const r = await sql<{ ms: number }>`SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS ms`.execute(db);
  return Number(r.rows[0]?.ms);
}
