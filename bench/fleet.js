// bench:fleet — a simulated fleet against one coordinator process. FLEETS (default 1000 and
// 5000) agents register through the real protocol (one Moleculer broker in this process speaks
// for all of them), then heartbeat at the interval the coordinator assigns, spread evenly, for
// two intervals. Prints registration time, heartbeat handling latency and the coordinator's CPU.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { ulid } from 'ulid';
import { ACTIONS, PROTOCOL_VERSION, SERVICES, createBroker } from '@drover/shared';
import { startCluster, progress, quantile } from './cluster.js';

const FLEETS = (process.env.FLEETS ?? '1000,5000').split(',').map(Number);
const CONCURRENCY = 50;
const capacity = { slots: 8, cpu: 8, memoryBytes: 32 * 2 ** 30 };

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100/s)
}

async function simulate(n) {
  const cluster = await startCluster();
  const broker = createBroker({
    natsUrl: cluster.env.DROVER_NATS_URL,
    cluster: cluster.env.DROVER_CLUSTER,
    nodeId: 'fleet-simulator',
    requestTimeoutMs: 30_000,
  });
  try {
    const { pid } = await cluster.coordinatorProcess();
    broker.createService({ name: SERVICES.agent, actions: { offer: () => ({ accepted: [], refused: [] }), stop: () => ({}) } });
    await broker.start();
    await broker.waitForServices([SERVICES.fleet]);
    const agents = Array.from({ length: n }, (_, i) => ({ agentId: ulid(), name: `sim-${i}`, region: ['eu', 'us', 'ap'][i % 3] }));
    progress(`registering ${n} simulated agents`);
    const t0 = performance.now();
    let next = 0;
    let interval = 5000;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < agents.length) {
          const a = agents[next++];
          const res = await broker.call(ACTIONS.register, {
            protocol: PROTOCOL_VERSION,
            agentId: a.agentId,
            nodeId: 'fleet-simulator',
            name: a.name,
            version: 'sim',
            attributes: { os: 'linux', arch: 'x64', 'cpu.cores': 8, 'memory.bytes': capacity.memoryBytes, 'label.region': a.region },
            labels: { region: a.region },
            executors: ['exec', 'noop'],
            total: capacity,
            free: capacity,
            runs: [],
          });
          interval = Math.max(interval, res.heartbeatIntervalMs);
        }
      }),
    );
    const registerSeconds = (performance.now() - t0) / 1000;
    progress(`registered in ${registerSeconds.toFixed(2)} s; heartbeating every ${interval} ms for two intervals`);
    const latencies = [];
    const cpu0 = cpuSeconds(pid);
    const h0 = performance.now();
    const duration = 2 * interval;
    await Promise.all(
      agents.map(async (a, i) => {
        // Spread the fleet evenly over the interval, as real agents drift apart.
        await new Promise((r) => setTimeout(r, (i / n) * interval));
        for (let t = 0; t < duration; t += interval) {
          const start = performance.now();
          await broker.call(ACTIONS.heartbeat, {
            agentId: a.agentId,
            nodeId: 'fleet-simulator',
            at: Date.now(),
            free: capacity,
            usage: { cpuPercent: 12.5, load1: 0.4, memoryUsedBytes: 4 * 2 ** 30, slotsUsed: 0 },
            runs: [],
          });
          latencies.push(performance.now() - start);
          await new Promise((r) => setTimeout(r, Math.max(0, interval - (performance.now() - start))));
        }
      }),
    );
    const wall = (performance.now() - h0) / 1000;
    const cores = (cpuSeconds(pid) - cpu0) / wall;
    latencies.sort((x, y) => x - y);
    return {
      bench: 'fleet',
      agents: n,
      registerSeconds: Number(registerSeconds.toFixed(2)),
      heartbeatIntervalMs: interval,
      heartbeats: latencies.length,
      heartbeatsPerSecond: Math.round(latencies.length / wall),
      heartbeatP50Ms: Number(quantile(latencies, 0.5).toFixed(1)),
      heartbeatP99Ms: Number(quantile(latencies, 0.99).toFixed(1)),
      coordinatorCores: Number(cores.toFixed(2)),
    };
  } finally {
    await broker.stop();
    await cluster.close();
  }
}

const results = [];
for (const n of FLEETS) results.push(await simulate(n));
for (const r of results.slice(0, -1)) console.error(JSON.stringify(r));
console.log(JSON.stringify(results.length === 1 ? results[0] : { bench: 'fleet', runs: results }));
