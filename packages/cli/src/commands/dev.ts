// `drover dev`: a whole Drover in one process with no servers to install — embedded PostgreSQL
// (PGlite) kept in the data directory, the in-memory queue and lease, Moleculer's in-process
// transport, a coordinator with its API, and one local agent that may run shell jobs (the
// machine is the user's own). `--listen nats://…` puts the bus on a real NATS server instead,
// so agents on other hosts can join; `--database` and `--redis` point at real servers.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { compileCoordinatorOptions, startCoordinator } from '@drover/coordinator';
import { compileAgentOptions, startAgent } from '@drover/agent';
import { failureLogOf, holdLockFile, keepRunningOnStrayErrors, redactUrl } from '@drover/shared';
import { createLogger } from '../logger.js';
import { addSettingFlags, fail } from './common.js';
import { compileDevOptions, devSettings, type DevOptions } from './dev-settings.js';
import { ensureExampleJobs, EXAMPLE_JOBS } from './dev-examples.js';

/**
 * Dev mode has no authentication and its agent runs shell scripts: say so loudly when anyone
 * but this machine's users could reach it.
 */
function exposureWarnings(apiHost: string, bus: string): string[] {
  const out: string[] = [];
  if (!isLoopback(apiHost))
    out.push(
      '',
      `  WARNING: the API listens on ${apiHost} without authentication, and the local agent runs shell scripts:`,
      '           anyone who can reach this address can run commands on this machine. Use 127.0.0.1 unless you mean it.',
    );
  if (bus !== 'memory')
    out.push(
      '',
      `  WARNING: the bus is ${redactUrl(bus)}: anything that can publish there can pose as a coordinator or an agent.`,
      '           Use a NATS server only you can reach.',
    );
  return out;
}

/** Adds `drover dev` to the program. */
export function registerDevCommand(program: Command): void {
  const cmd = program
    .command('dev')
    .description('run a whole Drover in one process: embedded PostgreSQL, in-memory queue, coordinator, API and a local agent');
  addSettingFlags(cmd, devSettings)
    .option('--nats <nats-url>', 'the same as --listen')
    .option('--no-examples', 'do not create the example jobs in a new database')
    .action(async (opts: Record<string, unknown>) => {
      try {
        await runDev(compileDevOptions(opts, process.env));
      } catch (err) {
        fail(err);
      }
    });
}

/** How long a clean stop may take before the process exits anyway. */
const STOP_DEADLINE_MS = 15_000;

/** The secrets key of a dev data directory, created (0600) on first use. */
function devSecretsKeyFile(dir: string): string {
  const file = path.join(dir, 'secrets.key');
  if (!existsSync(file)) writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  return file;
}

const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || host.startsWith('127.');

async function runDev(flags: DevOptions): Promise<void> {
  const startedAt = Date.now();
  const dataDir = path.resolve(flags.dataDir);
  const scratch = flags.ephemeral ? await mkdtemp(path.join(os.tmpdir(), 'drover-dev-')) : undefined;
  // Whatever happens from here (a failed start, a crash, a second Ctrl-C), an ephemeral run leaves nothing behind.
  if (scratch) process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
  let releaseLock: () => void = () => undefined;
  if (!flags.ephemeral) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    releaseLock = holdLockFile(path.join(dataDir, 'dev.pid'), `the data directory ${dataDir} (another drover dev?)`);
    process.on('exit', () => releaseLock());
  }
  // Until the coordinator is up, Ctrl-C simply ends the process (the exit handlers clean up).
  const early = () => process.exit(130);
  process.once('SIGINT', early);
  process.once('SIGTERM', early);
  const database = flags.database ?? (flags.ephemeral ? 'pglite:memory' : `pglite:${path.join(dataDir, 'postgres')}`);
  const bus = flags.listen ?? 'memory';
  const coordinatorOptions = compileCoordinatorOptions({
    flags: {
      'api-addr': flags.apiAddr,
      nats: bus,
      cluster: flags.cluster,
      'database-url': database,
      'redis-url': flags.redis ?? 'memory',
      'auto-migrate': 'true',
      'log-level': flags.logLevel,
      // Secrets work out of the box: a key kept beside the data (a fresh one with --ephemeral).
      'secrets-key-file': devSecretsKeyFile(scratch ?? dataDir),
      // Webhooks may reach this machine (a receiver on localhost): it is the user's own.
      'webhook-allow': ['127.0.0.0/8', '::1'],
      ...(flags.apiTlsCert ? { 'api-tls-cert': flags.apiTlsCert } : {}),
      ...(flags.apiTlsKey ? { 'api-tls-key': flags.apiTlsKey } : {}),
    },
    // Dev mode is self-contained: DROVER_* variables meant for a cluster do not redirect it.
    env: {},
  });
  const agentOptions = compileAgentOptions({
    flags: {
      nats: coordinatorOptions.natsUrl,
      cluster: coordinatorOptions.cluster,
      'allow-shell': true,
      // The user's own machine: the example jobs use http too. Outside dev mode both are off by default.
      'allow-http': true,
      'state-dir': scratch ?? path.join(dataDir, 'agent'),
      name: 'local',
      'log-level': flags.logLevel,
      ...(flags.slots ? { slots: flags.slots } : {}),
    },
    env: {},
  });
  process.stdout.write(`starting Drover (${flags.ephemeral ? 'ephemeral' : `state in ${dataDir}`})…\n`);
  // Dev mode is the user's own machine: the API is open (callers act as `dev`), unlike `drover coordinator`.
  const coordinatorLog = createLogger('coordinator', flags.logLevel, flags.logFormat);
  // One process for both: a stray error of either is logged, and neither goes down with it.
  keepRunningOnStrayErrors(failureLogOf(coordinatorLog));
  const coordinator = await startCoordinator(coordinatorOptions, coordinatorLog, {
    auth: 'dev',
  });
  // Jobs run as the user: dev's agent holds no join token or NATS credentials to steal.
  const agent = await startAgent(agentOptions, createLogger('agent', flags.logLevel, flags.logFormat), { dev: true });
  await agent.registered;
  // Examples go into a new database only: once created (or deleted by the user) they stay as the user left them.
  const marker = path.join(scratch ?? dataDir, 'examples-created');
  const created = flags.examples && !existsSync(marker) ? await ensureExampleJobs(coordinator.url) : [];
  writeFileSync(marker, new Date().toISOString());
  process.off('SIGINT', early);
  process.off('SIGTERM', early);
  const api = coordinator.url;
  const lines = [
    '',
    `Drover is running (ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s).`,
    `  API        ${api}   (OpenAPI document: ${api}/openapi.json)`,
    `  dashboard  ${api}/ui/`,
    `  auth       none: dev mode's API is open to this machine (drover coordinator requires API tokens)`,
    `  agent      ${agent.agentId} (local, shell and http allowed)`,
    `  database   ${coordinatorOptions.databaseUrl.startsWith('pglite:') ? `embedded PostgreSQL, ${flags.ephemeral ? 'in memory (--ephemeral)' : path.join(dataDir, 'postgres')}` : coordinatorOptions.databaseUrl.replace(/\/\/[^@]*@/, '//')}`,
    `  queue      ${coordinatorOptions.redisUrl === 'memory' ? 'in memory' : redactUrl(coordinatorOptions.redisUrl)}`,
    `  bus        ${bus === 'memory' ? 'in-process (start with --listen nats://… to let agents on other hosts join)' : `${redactUrl(bus)}, cluster ${coordinatorOptions.cluster}: join with "drover agent --nats ${redactUrl(bus)} --cluster ${coordinatorOptions.cluster} --allow-same-user" (or --run-as <user>, as root)`}`,
    created.length > 0
      ? `  examples   created ${created.join(', ')}`
      : `  examples   ${EXAMPLE_JOBS.map((j) => j.name).join(', ')} (if you kept them)`,
    ...exposureWarnings(coordinatorOptions.apiAddr.host, bus),
    '',
    'Try it:',
    `  curl -s '${api}/v1/runs?job=example-cron'                   # the example cron job's runs`,
    `  curl -s -X POST ${api}/v1/jobs/example-manual/runs -H 'content-type: application/json' -d '{"parameters":{"name":"you"}}'`,
    `  curl -s -X POST ${api}/v1/jobs -H 'content-type: application/json' \\`,
    `       -d '{"name":"hello","executor":{"type":"shell","script":"echo hello from $(hostname)"}}'`,
    `  curl -s -X POST ${api}/v1/jobs/hello/runs`,
    `  curl -sN "${api}/v1/runs/<run id>/logs?follow=1"            # follow a run's output`,
    '',
    'Ctrl-C stops it.',
    '',
  ];
  process.stdout.write(lines.join('\n'));
  let stopping = false;
  const stop = async () => {
    if (stopping) process.exit(130);
    stopping = true;
    process.stdout.write('stopping…\n');
    setTimeout(() => {
      process.stdout.write(`not stopped after ${STOP_DEADLINE_MS / 1000} s; exiting anyway\n`);
      process.exit(1);
    }, STOP_DEADLINE_MS).unref();
    await agent.stop({ graceMs: 5000 });
    await coordinator.stop();
    process.stdout.write('stopped\n');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}
