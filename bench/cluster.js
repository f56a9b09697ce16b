// A throwaway cluster for benchmarks: a fresh database, a Redis prefix and a NATS namespace
// of its own, a coordinator process and agent processes started from the built CLI.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Redis } from 'ioredis';
import { migrateToLatest } from '@drover/coordinator';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'packages/cli/bin/drover.js');
const adminUrl = process.env.DROVER_BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Starts a cluster; returns helpers and a `close()` that removes every trace of it. */
export async function startCluster() {
  const id = randomBytes(4).toString('hex');
  const dbName = `drover_bench_${id}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const u = new URL(adminUrl);
  u.pathname = `/${dbName}`;
  const databaseUrl = u.toString();
  await migrateToLatest(databaseUrl);
  if (process.env.BENCH_ASYNC_COMMIT) await admin.query(`ALTER DATABASE ${dbName} SET synchronous_commit = off`);
  const env = {
    ...process.env,
    DROVER_DATABASE_URL: databaseUrl,
    DROVER_REDIS_URL: process.env.DROVER_REDIS_URL ?? 'redis://127.0.0.1:6379',
    DROVER_REDIS_PREFIX: `drover-bench-${id}:`,
    DROVER_NATS_URL: process.env.DROVER_NATS_URL ?? 'nats://127.0.0.1:4222',
    DROVER_CLUSTER: `bench${id}`,
    DROVER_LOG_LEVEL: 'warn',
    DROVER_EXIT_WITH_PARENT: '1',
  };
  const procs = [];
  const dirs = [];
  const db = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  db.on('error', () => undefined); // dropping the database at the end ends its connections

  function start(args, readyMsg) {
    return new Promise((resolve, reject) => {
      const nodeArgs = process.env.BENCH_PROFILE && args[0] === process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : [];
      const child = spawn(process.execPath, [...nodeArgs, cli, ...args], {
        env: { ...env, DROVER_LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      procs.push(child);
      let buf = '';
      const tail = [];
      let ready = false;
      const onLine = (line) => {
        tail.push(line);
        if (tail.length > 30) tail.shift();
        // Once the process is up, its log lines are kept for errors but not parsed: parsing
        // thousands of lines a second would load the benchmark client itself.
        if (ready) return;
        try {
          const obj = JSON.parse(line);
          if (obj.msg === readyMsg) {
            ready = true;
            resolve({ child, line: obj });
          }
        } catch {
          /* not JSON */
        }
      };
      child.stdout.on('data', (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          onLine(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      });
      child.stderr.on('data', (d) => {
        tail.push(String(d));
        if (process.env.BENCH_STDERR) process.stderr.write(d);
      });
      child.on('exit', (code) => reject(new Error(`${args[0]} exited with ${code}:\n${tail.join('\n')}`)));
    });
  }

  return {
    databaseUrl,
    db,
    // --insecure: benchmarks measure scheduling, not authentication (and must never meet the rate
    // limit), unless they pass --bootstrap-token to measure authentication itself (bench/auth.js).
    async coordinator(extra = []) {
      const auth = extra.includes('--bootstrap-token') ? [] : ['--insecure'];
      const { line } = await start(['coordinator', '--api-addr', '127.0.0.1:0', ...auth, ...extra], 'api listening');
      return line.url;
    },
    /** The coordinator process id and URL, for benchmarks that watch its CPU. */
    async coordinatorProcess(extra = []) {
      const { child, line } = await start(['coordinator', '--api-addr', '127.0.0.1:0', '--insecure', ...extra], 'api listening');
      return { pid: child.pid, url: line.url };
    },
    env,
    async agent(extra = []) {
      const dir = mkdtempSync(path.join(tmpdir(), 'drover-bench-agent-'));
      dirs.push(dir);
      const { line } = await start(['agent', '--allow-same-user', '--state-dir', dir, ...extra], 'agent registered');
      return line.agentId;
    },
    async close() {
      for (const p of procs) p.kill(process.env.BENCH_PROFILE ? 'SIGINT' : 'SIGKILL');
      if (process.env.BENCH_PROFILE) await new Promise((r) => setTimeout(r, 3000));
      await db.end();
      await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await admin.end();
      const redis = new Redis(env.DROVER_REDIS_URL);
      const keys = await redis.keys(`${env.DROVER_REDIS_PREFIX}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  };
}

/** POSTs JSON and returns the parsed answer, failing loudly on an error status. */
export async function post(url, body) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await res.json();
  if (!res.ok) throw new Error(`${url}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** The q-quantile of sorted numbers. */
export function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Progress on stderr, so stdout ends with the one JSON line of figures. */
export function progress(msg) {
  process.stderr.write(`  ${msg}\n`);
}
