// bench:latency — enqueue-to-start latency at a steady rate: RATE single-run triggers per
// second (POST /v1/jobs/{id}/runs) for SECONDS, against one coordinator and one agent.
// Latency is the run's started_at (the agent's clock, when it began the attempt) minus
// created_at (the coordinator's clock, when it accepted the trigger); both are this host's.
import { performance } from 'node:perf_hooks';
import { startCluster, post, progress, quantile } from './cluster.js';

const RATE = Number(process.env.RATE ?? 200);
const SECONDS = Number(process.env.SECONDS ?? 15);

const cluster = await startCluster();
try {
  const api = await cluster.coordinator();
  await cluster.agent(['--slots', '64']);
  const job = await post(`${api}/v1/jobs`, { name: 'bench-noop', executor: { type: 'noop' } });
  // Warm up connections and JIT, then discard.
  for (let i = 0; i < 50; i++) await post(`${api}/v1/jobs/${job.id}/runs`, {});
  await new Promise((r) => setTimeout(r, 500));
  await cluster.db.query('DELETE FROM runs');
  const total = RATE * SECONDS;
  progress(`sending ${total} triggers at ${RATE}/s`);
  const t0 = performance.now();
  const pending = [];
  const late = [];
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    // How late the client itself sends: when this machine stalls, every process stalls with it.
    late.push(performance.now() - due);
    pending.push(post(`${api}/v1/jobs/${job.id}/runs`, {}));
  }
  late.sort((a, b) => a - b);
  await Promise.all(pending);
  const sendSeconds = (performance.now() - t0) / 1000;
  for (let i = 0; i < 600; i++) {
    const left = Number((await cluster.db.query(`SELECT count(*) AS n FROM runs WHERE state <> 'succeeded'`)).rows[0].n);
    if (left === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const rows = (
    await cluster.db.query(
      `SELECT EXTRACT(EPOCH FROM started_at - created_at) * 1000 AS ms, EXTRACT(EPOCH FROM offered_at - created_at) * 1000 AS offer_ms
         FROM runs WHERE started_at IS NOT NULL`,
    )
  ).rows;
  const ms = rows.map((r) => Number(r.ms)).sort((a, b) => a - b);
  const offerMs = rows.map((r) => Number(r.offer_ms)).sort((a, b) => a - b);
  const figures = {
    bench: 'latency',
    rate: RATE,
    runs: ms.length,
    achievedRate: Math.round(total / sendSeconds),
    p50Ms: Number(quantile(ms, 0.5).toFixed(2)),
    p90Ms: Number(quantile(ms, 0.9).toFixed(2)),
    p99Ms: Number(quantile(ms, 0.99).toFixed(2)),
    maxMs: Number(ms[ms.length - 1].toFixed(2)),
    // The first leg alone: accepted by the API → offered (committed) by the dispatcher.
    offerP50Ms: Number(quantile(offerMs, 0.5).toFixed(2)),
    offerP99Ms: Number(quantile(offerMs, 0.99).toFixed(2)),
    clientSendLateP99Ms: Number(quantile(late, 0.99).toFixed(2)),
  };
  console.log(JSON.stringify(figures));
} finally {
  await cluster.close();
}
