// What authentication and the audit log cost per request: the same coordinator setup twice,
// once --insecure and once with bearer tokens, each answering sequential requests from one
// client. Reads (GET /v1/jobs/{id}) show the auth hook (hash + cached token look-up); triggers
// (POST /v1/jobs/{id}/runs) add the audit record written before each response.
// Prints one JSON line: median and p90 per request in ms, per mode.
import { randomBytes } from 'node:crypto';
import { startCluster, progress, quantile } from './cluster.js';

const N = Number(process.env.BENCH_AUTH_REQUESTS ?? 2000);

async function measure(url, token, jobId) {
  const headers = { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
  const time = async (fn) => {
    const ms = [];
    for (let i = 0; i < N; i++) {
      const t = process.hrtime.bigint();
      const res = await fn();
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`${res.status}`);
      ms.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    ms.sort((a, b) => a - b);
    return { p50: +quantile(ms, 0.5).toFixed(3), p90: +quantile(ms, 0.9).toFixed(3) };
  };
  // Warm up connections, caches and the JIT.
  for (let i = 0; i < 200; i++) await (await fetch(`${url}/v1/jobs/${jobId}`, { headers })).arrayBuffer();
  const read = await time(() => fetch(`${url}/v1/jobs/${jobId}`, { headers }));
  const trigger = await time(() => fetch(`${url}/v1/jobs/${jobId}/runs`, { method: 'POST', headers, body: '{}' }));
  return { read, trigger };
}

async function run(auth) {
  const cluster = await startCluster();
  try {
    const token = auth ? `drv_bench_${randomBytes(24).toString('hex')}` : undefined;
    const url = await cluster.coordinator(token ? ['--bootstrap-token', token, '--rate-limit', '0'] : []);
    const headers = { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
    // A paused schedule-less noop job: triggered runs queue (no agent), nothing executes.
    const res = await fetch(`${url}/v1/jobs`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'auth-bench', executor: { type: 'noop' } }),
    });
    const job = await res.json();
    progress(`${auth ? 'tokens' : 'insecure'}: ${N} reads and ${N} triggers`);
    return await measure(url, token, job.id);
  } finally {
    await cluster.close();
  }
}

const insecure = await run(false);
const tokens = await run(true);
process.stdout.write(`${JSON.stringify({ requests: N, insecure, tokens })}\n`);
process.exit(0);
