// What the durable outbox costs per event: the same events pushed through an outbox in
// memory only and through one with its journal in a temporary state dir, with a coordinator
// that acknowledges every report at once (so acknowledgements and compactions are paid too).
//   - log chunks (never fsync'd on their own): µs per event, all written;
//   - started + finished pairs in bursts of 100 runs per turn (one group commit, one fsync);
//   - one finished event per turn, each waited for on disk (the worst case: an fsync each).
// Prints one JSON line, in µs per event (wall time until written and, for finished, fsync'd).
//   npm run build && node bench/outbox.js
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Outbox } from '../packages/agent/dist/outbox.js';
import { OutboxJournal } from '../packages/agent/dist/outbox-journal.js';

const N = Number(process.env.BENCH_OUTBOX_EVENTS ?? 100_000);
const SINGLES = Number(process.env.BENCH_OUTBOX_SINGLES ?? 500);
const quiet = { info() {}, warn() {}, error() {} };
const runId = '01J00000000000000000000RUN';

const logEvent = (i) => ({
  kind: 'log',
  runId,
  token: 1,
  seq: i,
  stream: 'stdout',
  data: `line ${i} of the job's output, about as long as a typical log line is\n`,
  at: Date.now(),
});
const started = (i) => ({ kind: 'started', runId: `R${i}`, token: 1, at: Date.now() });
const finished = (i) => ({
  kind: 'finished',
  runId: `R${i}`,
  jobId: '01J00000000000000000000JOB',
  token: 1,
  at: Date.now(),
  outcome: 'succeeded',
  exitCode: 0,
  signal: null,
  error: null,
  durationMs: 12,
  cpuTimeMs: 3,
  peakMemoryBytes: 1_000_000,
  httpStatus: null,
  outputBytes: 0,
  droppedBytes: 0,
  lastLines: [],
});

async function outbox(durable) {
  const dir = await mkdtemp(join(tmpdir(), 'drover-bench-outbox-'));
  const journal = durable ? (await OutboxJournal.open(dir, quiet)).journal : undefined;
  const box = new Outbox({ journal, send: async () => ({ stale: [] }) });
  return {
    box,
    journal,
    async close() {
      await box.drain(60_000);
      await box.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const turn = () => new Promise((r) => setImmediate(r));

async function logs(durable) {
  const { box, journal, close } = await outbox(durable);
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    box.push(logEvent(i));
    if (i % 1000 === 999) await turn();
  }
  await box.drain(60_000);
  await journal?.durable();
  const us = ((performance.now() - t0) * 1000) / N;
  const counters = journal?.counters;
  await close();
  return { us: +us.toFixed(2), ...(counters ? { fsyncs: counters.syncs, compactions: counters.compactions } : {}) };
}

async function bursts(durable) {
  const { box, journal, close } = await outbox(durable);
  const runs = N / 2;
  const t0 = performance.now();
  for (let i = 0; i < runs; i += 100) {
    for (let k = i; k < i + 100; k++) {
      box.push(started(k));
      box.push(finished(k));
    }
    await box.durable();
  }
  await box.drain(60_000);
  const us = ((performance.now() - t0) * 1000) / N;
  const counters = journal?.counters;
  await close();
  return { us: +us.toFixed(2), ...(counters ? { fsyncs: counters.syncs } : {}) };
}

async function singles(durable) {
  const { box, close } = await outbox(durable);
  const t0 = performance.now();
  for (let i = 0; i < SINGLES; i++) {
    box.push(finished(i));
    await box.durable();
  }
  const us = ((performance.now() - t0) * 1000) / SINGLES;
  await close();
  return { us: +us.toFixed(1) };
}

// Warm the JIT on both paths before measuring.
await logs(false);
await logs(true);
const figures = {
  bench: 'outbox',
  events: N,
  logChunkUs: { memory: (await logs(false)).us, journal: await logs(true) },
  startedFinishedIn100RunBurstsUs: { memory: (await bursts(false)).us, journal: await bursts(true) },
  finishedAloneFsyncedUs: { memory: (await singles(false)).us, journal: (await singles(true)).us },
};
console.log(JSON.stringify(figures));
