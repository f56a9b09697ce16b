// bench:schedules — 10,000 schedules all due at the same second. Creates SCHEDULES jobs, each
// with a one-off schedule (`at`) for the same instant, against one coordinator and one agent
// process, then reports how long after that second every run was queued and started, and
// the lateness distribution (due → queued, due → started). Ends with one JSON line.
import { startCluster, post, progress, quantile } from './cluster.js';

const SCHEDULES = Number(process.env.SCHEDULES ?? 10_000);
const SLOTS = Number(process.env.SLOTS ?? 1000);
const CONCURRENCY = 32;

const cluster = await startCluster();
try {
  const api = await cluster.coordinator();
  await cluster.agent(['--slots', String(SLOTS)]);
  // Leave time to create every job; the fire is on a whole second.
  const due = Math.ceil((Date.now() + 20_000 + SCHEDULES * 2) / 1000) * 1000;
  const at = new Date(due).toISOString();
  progress(`creating ${SCHEDULES} jobs due at ${at}`);
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < SCHEDULES) {
        const i = next++;
        await post(`${api}/v1/jobs`, { name: `due-${i}`, executor: { type: 'noop' }, schedule: { at } });
      }
    }),
  );
  if (Date.now() >= due) throw new Error('creating the jobs took longer than planned; the fire is already past');
  progress(`created; waiting for ${at}`);
  await new Promise((r) => setTimeout(r, due - Date.now()));
  for (let i = 0; i < 600; i++) {
    const done = Number((await cluster.db.query(`SELECT count(*) AS n FROM runs WHERE state = 'succeeded'`)).rows[0].n);
    if (done >= SCHEDULES) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const rows = (
    await cluster.db.query(
      `SELECT EXTRACT(EPOCH FROM queued_at - fire_at) * 1000 AS q, EXTRACT(EPOCH FROM started_at - fire_at) * 1000 AS s
         FROM runs WHERE fire_at IS NOT NULL`,
    )
  ).rows;
  const queued = rows.map((r) => Number(r.q)).sort((a, b) => a - b);
  const started = rows
    .filter((r) => r.s !== null)
    .map((r) => Number(r.s))
    .sort((a, b) => a - b);
  const round = (x) => Number(x.toFixed(1));
  console.log(
    JSON.stringify({
      bench: 'schedules',
      schedules: SCHEDULES,
      runs: rows.length,
      started: started.length,
      allQueuedAfterMs: round(queued[queued.length - 1]),
      allStartedAfterMs: round(started[started.length - 1]),
      dueToQueuedP50Ms: round(quantile(queued, 0.5)),
      dueToQueuedP99Ms: round(quantile(queued, 0.99)),
      dueToStartedP50Ms: round(quantile(started, 0.5)),
      dueToStartedP99Ms: round(quantile(started, 0.99)),
    }),
  );
} finally {
  await cluster.close();
}
