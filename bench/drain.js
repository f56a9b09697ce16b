// bench:drain — how fast queued no-op runs drain through coordinator → NATS → a separate
// agent process → PostgreSQL. Enqueues RUNS runs with no agent connected, then starts one
// agent and times until every run has succeeded. Ends with one JSON line of figures.
import { performance } from 'node:perf_hooks';
import { startCluster, post, progress } from './cluster.js';

const RUNS = Number(process.env.RUNS ?? 20_000);
const SLOTS = Number(process.env.SLOTS ?? 1000);

const cluster = await startCluster();
try {
  const api = await cluster.coordinator();
  const job = await post(`${api}/v1/jobs`, { name: 'bench-noop', executor: { type: 'noop' } });
  progress(`enqueueing ${RUNS} runs`);
  const t0 = performance.now();
  for (let left = RUNS; left > 0; left -= 10_000)
    await post(`${api}/v1/runs/batch`, { runs: [{ job: job.id, count: Math.min(10_000, left) }] });
  const enqueueSeconds = (performance.now() - t0) / 1000;
  progress(`enqueued in ${enqueueSeconds.toFixed(2)} s; starting an agent with ${SLOTS} slots`);
  const started = performance.now();
  await cluster.agent(['--slots', String(SLOTS)]);
  let done = 0;
  while (done < RUNS) {
    await new Promise((r) => setTimeout(r, 100));
    done = Number((await cluster.db.query(`SELECT count(*) AS n FROM runs WHERE state = 'succeeded'`)).rows[0].n);
    const failed = Number(
      (await cluster.db.query(`SELECT count(*) AS n FROM runs WHERE state NOT IN ('succeeded','queued','offered','running')`)).rows[0].n,
    );
    if (failed > 0) throw new Error(`${failed} runs ended other than succeeded`);
    if ((performance.now() - started) / 1000 > 300) throw new Error(`only ${done}/${RUNS} runs succeeded after 300 s`);
  }
  const wallSeconds = (performance.now() - started) / 1000;
  // The drain proper: from the first offer to the last result, by the database's own clock.
  const span = (await cluster.db.query(`SELECT EXTRACT(EPOCH FROM max(finished_at) - min(offered_at)) AS s FROM runs`)).rows[0].s;
  const drainSeconds = Number(span);
  const figures = {
    bench: 'drain',
    runs: RUNS,
    slots: SLOTS,
    enqueueRunsPerSecond: Math.round(RUNS / enqueueSeconds),
    drainSeconds: Number(drainSeconds.toFixed(3)),
    runsPerSecond: Math.round(RUNS / drainSeconds),
    wallSecondsIncludingAgentStart: Number(wallSeconds.toFixed(3)),
  };
  console.log(JSON.stringify(figures));
} finally {
  await cluster.close();
}
