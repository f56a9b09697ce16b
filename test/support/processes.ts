/**
 * Real `drover` processes for integration tests: a coordinator, agents, or any CLI verb.
 *
 * Every line a process prints (stdout and stderr) is kept in memory, parsed as JSON when it is
 * one of pino's log lines, so a test can wait for a log event and a failure can show the tail.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from './database.js';
import type { TestEnv } from './isolation.js';

export const DROVER_BIN = join(REPO_ROOT, 'packages/cli/bin/drover.js');

export interface OutputLine {
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
  /** The parsed pino record, when the line is a JSON object. */
  readonly json?: Record<string, unknown>;
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface DroverProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Everything printed so far, in order. */
  readonly lines: readonly OutputLine[];
  /** The exit status once the process has exited, else undefined. */
  readonly exitStatus: ExitStatus | undefined;
  /** Settles when the process exits (never rejects). */
  readonly exited: Promise<ExitStatus>;
  /**
   * Resolves with the first line, already printed or yet to come, that matches; rejects with the
   * last 50 lines if none does within timeoutMs or the process exits first.
   */
  waitForLine(predicate: (line: OutputLine) => boolean, timeoutMs?: number): Promise<OutputLine>;
  /** The first pino record with `msg === msg` (and optionally more matching), as waitForLine does. */
  waitForLog(msg: string, timeoutMs?: number, where?: (json: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  /** The last n lines, one per line, prefixed with the process name (for error messages). */
  tail(n?: number): string;
  /** SIGTERM, then SIGKILL after graceMs; resolves when the process has exited. */
  stop(graceMs?: number): Promise<ExitStatus>;
  /** SIGKILL; resolves when the process has exited. */
  kill(): Promise<ExitStatus>;
}

export interface SpawnOptions {
  /** Label used in error messages; defaults to the CLI verb. */
  name?: string;
  /** DROVER_STATE_DIR; a fresh temp dir (removed at env cleanup) when omitted. */
  stateDir?: string;
  /** Extra environment variables, applied last. */
  env?: Record<string, string>;
}

const DEFAULT_WAIT_MS = 30_000;

// Every live child of this worker, so none outlives it even when a test forgets cleanup().
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Creates a temp directory removed at env cleanup, for DROVER_STATE_DIR. */
export function makeStateDir(env: TestEnv, name = 'state'): string {
  const dir = mkdtempSync(join(tmpdir(), `drover-${env.namespace}-${name}-`));
  env.onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts `node packages/cli/bin/drover.js <args>` wired to the env; it is killed at env cleanup. */
export function spawnDrover(env: TestEnv, args: readonly string[], options: SpawnOptions = {}): DroverProcess {
  return spawnInEnv(env, process.execPath, [DROVER_BIN, ...args], { ...options, name: options.name ?? args[0] ?? 'drover' });
}

/**
 * Starts any command with the env's DROVER_* variables, capturing its output like spawnDrover;
 * it is killed at env cleanup. For helper processes and for testing the harness itself.
 */
export function spawnInEnv(env: TestEnv, command: string, args: readonly string[], options: SpawnOptions = {}): DroverProcess {
  const name = options.name ?? command;
  const stateDir = options.stateDir ?? makeStateDir(env, name.replace(/[^a-z0-9-]/gi, '_'));
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      DROVER_DATABASE_URL: env.databaseUrl,
      DROVER_REDIS_URL: env.redisUrl,
      DROVER_REDIS_PREFIX: env.redisPrefix,
      DROVER_NATS_URL: env.natsUrl,
      DROVER_CLUSTER: env.namespace,
      DROVER_STATE_DIR: stateDir,
      // A drover child exits when this worker dies, however it dies (see packages/cli/src/main.ts).
      DROVER_EXIT_WITH_PARENT: '1',
      ...options.env,
    },
  });
  live.add(child);

  const lines: OutputLine[] = [];
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const fn of [...listeners]) fn();
  };
  let exitStatus: ExitStatus | undefined;
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      exitStatus = { code, signal };
      resolve(exitStatus);
      notify();
    });
    child.once('error', (err) => {
      lines.push({ stream: 'stderr', text: `spawn error: ${err.message}` });
      live.delete(child);
      exitStatus ??= { code: null, signal: null };
      resolve(exitStatus);
      notify();
    });
  });

  for (const stream of ['stdout', 'stderr'] as const) {
    createInterface({ input: child[stream]!, crlfDelay: Infinity }).on('line', (text) => {
      let json: Record<string, unknown> | undefined;
      if (text.startsWith('{')) {
        try {
          const parsed: unknown = JSON.parse(text);
          if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) json = parsed as Record<string, unknown>;
        } catch {
          // Not JSON: keep the raw text only.
        }
      }
      lines.push(json ? { stream, text, json } : { stream, text });
      notify();
    });
  }

  const tail = (n = 50) =>
    lines
      .slice(-n)
      .map((l) => `[${name}${l.stream === 'stderr' ? ' stderr' : ''}] ${l.text}`)
      .join('\n');

  const waitForLine = (predicate: (line: OutputLine) => boolean, timeoutMs = DEFAULT_WAIT_MS) =>
    new Promise<OutputLine>((resolve, reject) => {
      let checked = 0;
      const finish = (fn: () => void) => {
        clearTimeout(timer);
        listeners.delete(check);
        fn();
      };
      const check = () => {
        for (; checked < lines.length; checked++) {
          const line = lines[checked]!;
          if (predicate(line)) return finish(() => resolve(line));
        }
        if (exitStatus) {
          const how = exitStatus.signal ? `signal ${exitStatus.signal}` : `code ${exitStatus.code}`;
          finish(() => reject(new Error(`${name} (pid ${child.pid}) exited with ${how} before the awaited line; last lines:\n${tail()}`)));
        }
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`${name} (pid ${child.pid}): no awaited line within ${timeoutMs} ms; last lines:\n${tail()}`))),
        timeoutMs,
      );
      listeners.add(check);
      check();
    });

  const signalAndWait = async (signal: NodeJS.Signals, graceMs: number) => {
    if (exitStatus) return exitStatus;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };

  const proc: DroverProcess = {
    name,
    child,
    pid: child.pid ?? -1,
    lines,
    get exitStatus() {
      return exitStatus;
    },
    exited,
    waitForLine,
    async waitForLog(msg, timeoutMs, where) {
      const line = await waitForLine((l) => l.json?.msg === msg && (!where || where(l.json)), timeoutMs);
      return line.json!;
    },
    tail,
    stop: (graceMs = 10_000) => signalAndWait('SIGTERM', graceMs),
    kill: () => signalAndWait('SIGKILL', 10_000),
  };
  env.onCleanup(() => proc.kill());
  return proc;
}

export interface StartedCoordinator {
  /** Base URL of the REST API, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** With `auth: true`: the bootstrap admin token (the same for every coordinator of the env). */
  readonly token?: string;
  readonly proc: DroverProcess;
  stop(): Promise<ExitStatus>;
}

export interface CoordinatorOptions extends SpawnOptions {
  /**
   * Require API tokens, as `drover coordinator` does by default: the coordinator gets a
   * bootstrap admin token (returned as `token`). Without it the harness adds `--insecure`, so
   * tests about something else need no tokens.
   */
  auth?: boolean;
  /** How long to wait for `api listening` (default 30 s). */
  listeningWithinMs?: number;
}

// One bootstrap token per env: every coordinator of a cluster accepts the same admin token.
const bootstrapTokens = new WeakMap<TestEnv, string>();

/** The env's bootstrap admin token (what `startCoordinator(env, { auth: true })` passes). */
export function bootstrapTokenOf(env: TestEnv): string {
  let token = bootstrapTokens.get(env);
  if (!token) bootstrapTokens.set(env, (token = `drv_test_${randomBytes(24).toString('hex')}`));
  return token;
}

/**
 * Coordinator flags for tests that watch agents go down: heartbeats every second, an agent is
 * down after 3 s, and the reconciler sweeps twice a second.
 */
export const FAST_LIVENESS_ARGS: readonly string[] = [
  '--heartbeat-interval',
  '1s',
  '--agent-down-after',
  '3s',
  '--reconcile-interval',
  '500ms',
];

/**
 * Runs `drover coordinator --api-addr 127.0.0.1:0` (with `--insecure` unless `auth`) and waits
 * for its `api listening` log line. `startCoordinator(env, { auth: true })` is short for `(env, [], { auth: true })`.
 */
export async function startCoordinator(
  env: TestEnv,
  extraArgs: readonly string[] | CoordinatorOptions = [],
  options: CoordinatorOptions = {},
): Promise<StartedCoordinator> {
  if (!Array.isArray(extraArgs)) return startCoordinator(env, [], extraArgs as CoordinatorOptions);
  const { auth, listeningWithinMs, ...spawnOptions } = options;
  const token = auth ? bootstrapTokenOf(env) : undefined;
  const args = ['coordinator', '--api-addr', '127.0.0.1:0', ...(auth ? [] : ['--insecure']), ...(extraArgs as readonly string[])];
  // Webhook receivers of tests listen on 127.0.0.1, which the coordinator refuses by default: allow
  // loopback, as drover dev does. A test checks the default with `env: { DROVER_WEBHOOK_ALLOW: '' }`.
  const processEnv = {
    DROVER_WEBHOOK_ALLOW: '127.0.0.0/8,::1',
    ...(token ? { DROVER_BOOTSTRAP_TOKEN: token } : {}),
    ...spawnOptions.env,
  };
  const proc = spawnDrover(env, args, { ...spawnOptions, env: processEnv });
  const record = await proc.waitForLog('api listening', listeningWithinMs);
  if (typeof record.url !== 'string')
    throw new Error(`coordinator logged 'api listening' without a url field; last lines:\n${proc.tail()}`);
  return { url: record.url.replace(/\/$/, ''), ...(token ? { token } : {}), proc, stop: () => proc.stop() };
}

export interface AgentOptions {
  labels?: Record<string, string>;
  slots?: number;
  allowShell?: boolean;
  /**
   * Pass `--allow-same-user` (default true): the test agents run jobs as the test's own user.
   * False for an agent that runs them as another (`--run-as`), as a production agent must.
   */
  allowSameUser?: boolean;
  extraArgs?: readonly string[];
  /** Reuse a state dir (e.g. to restart an agent with its outbox); a fresh one by default. */
  stateDir?: string;
  name?: string;
  env?: Record<string, string>;
  /** How long to wait for `agent registered` (default 30 s). */
  registeredWithinMs?: number;
}

export interface StartedAgent {
  readonly agentId: string;
  readonly stateDir: string;
  readonly proc: DroverProcess;
  stop(): Promise<ExitStatus>;
  kill(): Promise<ExitStatus>;
}

/** Runs `drover agent --label k=v … --slots N [--allow-shell] --allow-same-user` and waits for `agent registered`. */
export async function startAgent(env: TestEnv, options: AgentOptions = {}): Promise<StartedAgent> {
  const args = ['agent'];
  for (const [key, value] of Object.entries(options.labels ?? {})) args.push('--label', `${key}=${value}`);
  if (options.slots !== undefined) args.push('--slots', String(options.slots));
  if (options.allowShell) args.push('--allow-shell');
  if (options.allowSameUser ?? true) args.push('--allow-same-user');
  args.push(...(options.extraArgs ?? []));
  const stateDir = options.stateDir ?? makeStateDir(env, 'agent');
  const spawnOptions: SpawnOptions = { name: options.name ?? 'agent', stateDir };
  if (options.env) spawnOptions.env = options.env;
  const proc = spawnDrover(env, args, spawnOptions);
  const record = await proc.waitForLog('agent registered', options.registeredWithinMs);
  if (typeof record.agentId !== 'string')
    throw new Error(`agent logged 'agent registered' without an agentId field; last lines:\n${proc.tail()}`);
  return { agentId: record.agentId, stateDir, proc, stop: () => proc.stop(), kill: () => proc.kill() };
}
