// What a log chunk's encoding costs, for the choice in shared/log-data.ts: send text as text
// and only output that is not UTF-8 (or holds NUL) as base64, or send every chunk as base64.
// For 16 KiB chunks of ASCII text, of UTF-8 text and of binary noise, and per strategy:
//   - agent + wire: encode, JSON for the bus, parse on the coordinator, JSON for the insert (µs);
//   - bytes on the wire;
//   - PostgreSQL: inserting 500 chunks into a bytea column with one jsonb_to_recordset
//     statement, convert_to() for text and decode(…, 'base64') for the rest (µs per chunk).
// Prints one JSON line.
//   npm run build && node bench/log-encoding.js
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { encodeReportedLogData } from '../packages/shared/dist/index.js';

const CHUNK = 16 * 1024;
const N = Number(process.env.BENCH_LOG_CHUNKS ?? 5000);
const BATCH = 500;
const url = process.env.DROVER_BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const samples = {
  ascii: Buffer.from('INFO request served in 12 ms, path=/v1/runs status=200 ok\n'.repeat(400)).subarray(0, CHUNK),
  utf8: Buffer.from('INFO requête servie en 12 ms ✓ — état=200\n'.repeat(400)).subarray(0, CHUNK - 2),
  binary: randomBytes(CHUNK),
};
const strategies = {
  textAsText: encodeReportedLogData,
  alwaysBase64: (b) => ({ data: b.toString('base64'), encoding: 'base64' }),
};

function wireMicros(bytes, encode) {
  const once = () => {
    const wire = JSON.stringify({
      kind: 'log',
      runId: '01J00000000000000000000RUN',
      token: 1,
      seq: 1,
      stream: 'stdout',
      ...encode(bytes),
      at: 1,
    });
    const e = JSON.parse(wire);
    JSON.stringify([{ id: e.runId, data: e.data, b64: e.encoding === 'base64' }]);
    return wire.length;
  };
  for (let i = 0; i < 500; i++) once();
  const t = performance.now();
  let size = 0;
  for (let i = 0; i < N; i++) size = once();
  return { micros: ((performance.now() - t) * 1000) / N, wireBytes: size };
}

async function insertMicros(db, bytes, encode) {
  const { data, encoding } = encode(bytes);
  const rows = JSON.stringify(Array.from({ length: BATCH }, (_, seq) => ({ seq, data, b64: encoding === 'base64' })));
  await db.query('TRUNCATE bench_log_chunks');
  const t = performance.now();
  await db.query(
    `INSERT INTO bench_log_chunks (seq, data)
     SELECT seq, CASE WHEN b64 THEN decode(data, 'base64') ELSE convert_to(data, 'UTF8') END
       FROM jsonb_to_recordset($1::jsonb) AS x(seq int, data text, b64 boolean)`,
    [rows],
  );
  return ((performance.now() - t) * 1000) / BATCH;
}

const db = new pg.Client({ connectionString: url });
await db.connect();
try {
  await db.query('CREATE TEMP TABLE bench_log_chunks (seq int, data bytea)');
  const figures = { bench: 'log-encoding', chunkBytes: CHUNK };
  for (const [sample, bytes] of Object.entries(samples)) {
    for (const [name, encode] of Object.entries(strategies)) {
      const wire = wireMicros(bytes, encode);
      await insertMicros(db, bytes, encode); // warm-up
      const pgMicros = Math.min(await insertMicros(db, bytes, encode), await insertMicros(db, bytes, encode));
      figures[`${sample}.${name}`] = { wireMicros: Math.round(wire.micros), wireBytes: wire.wireBytes, pgMicros: Math.round(pgMicros) };
    }
  }
  console.log(JSON.stringify(figures));
} finally {
  await db.end();
}
