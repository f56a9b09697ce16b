// Runs one attempt as a child process in its own process group, so that stopping it (a
// cancel, a timeout, agent shutdown) reaches everything it started: SIGTERM to the group,
// SIGKILL once the offer's kill grace is over. Shared by the exec and shell executors; never
// uses a shell itself. An attempt owns its process group and its result waits until nothing
// of the group runs, so no attempt leaks processes into the next:
//   - the main process exits on its own: whatever is left in the group is killed, once the
//     output pipes close or at most OUTPUT_DRAIN_MS later;
//   - the attempt is stopped: what is left after the main process exits keeps the rest of the
//     grace (a child trapping SIGTERM to clean up deserves it), then the group is SIGKILLed.
import { spawn } from 'node:child_process';
import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve as resolvePath } from 'node:path';
import { DEFAULT_KILL_GRACE_MS, type EnvValue, type RunOffer } from '@drover/shared';
import { failedResult, type AttemptIO, type AttemptResult, type GroupWatch, type RunningAttempt, type StopReason } from './executor.js';
import { ProcessGroup } from './process-group.js';
import { processGroupSampler } from './process-usage.js';

/** How long to wait for the output pipes to close after the main process exited normally. */
const OUTPUT_DRAIN_MS = 1_000;
/** How often a stopping attempt whose main process is gone looks whether the rest of its group is. */
const STOPPING_POLL_MS = 100;
/** How long a SIGKILLed group may take to disappear before the attempt is reported anyway (a process stuck in the kernel). */
const KILLED_GROUP_GONE_MS = 5_000;

/** The unprivileged user attempts run as (`--run-as`), resolved at start-up. */
export interface RunAsUser {
  user: string;
  uid: number;
  gid: number;
  home: string;
}

export interface ProcessExecutorOptions {
  /** Between SIGTERM and SIGKILL when an attempt is stopped, for offers that do not say; default 10 s. */
  killGraceMs?: number;
  /** Run attempts as this user and group instead of the agent's own. */
  runAs?: RunAsUser;
  /**
   * Confine working directories to this directory (a real path): a job's `cwd` is resolved
   * inside it, and one that leads outside (`..`, a symlink) fails the attempt. It is also the
   * working directory of jobs that name none, when the attempt has no scratch directory.
   */
  workRoot?: string;
  /** Watches each attempt's process group so that none outlives the agent (see reaper.ts). */
  watchGroups?: (offer: RunOffer) => GroupWatch;
  /**
   * The attempt's own scratch directory (made before it starts; see scratch-dirs.ts): its
   * working directory unless the job names one, and `DROVER_WORK_DIR` either way.
   */
  workDirOf?: (offer: RunOffer) => string;
}

/** The options for one offer's attempt: its own kill grace wins over the executor's. */
export function offerProcessOptions(offer: RunOffer, fallback: ProcessExecutorOptions): ProcessExecutorOptions {
  const grace = offer.killGraceMs;
  return typeof grace === 'number' && Number.isFinite(grace) && grace >= 0 ? { ...fallback, killGraceMs: grace } : fallback;
}

/**
 * The environment of an attempt: the agent's without its own `DROVER_*` settings (join token,
 * NATS credentials…), then the job's literal values, then its secrets (resolved by the
 * dispatcher; references left in the env are skipped), then Drover's own variables.
 */
export function attemptEnv(offer: RunOffer, jobEnv: Record<string, EnvValue> | undefined, runAs?: RunAsUser): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('DROVER_')) env[name] = value;
  if (runAs) Object.assign(env, { HOME: runAs.home, USER: runAs.user, LOGNAME: runAs.user });
  for (const [name, value] of Object.entries(jobEnv ?? {})) if (typeof value === 'string') env[name] = value;
  Object.assign(env, offer.secretEnv);
  env.DROVER_RUN_ID = offer.runId;
  env.DROVER_JOB_ID = offer.jobId;
  env.DROVER_JOB_NAME = offer.jobName;
  env.DROVER_ATTEMPT = String(offer.attempt);
  for (const [name, value] of Object.entries(offer.parameters)) {
    env[`DROVER_PARAM_${name.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}`] = value;
  }
  return env;
}

/** Where an attempt of a process executor runs, and with what environment. */
export function attemptPlace(
  offer: RunOffer,
  spec: { env?: Record<string, EnvValue> | undefined; cwd?: string | undefined },
  options: ProcessExecutorOptions,
): { env: NodeJS.ProcessEnv; cwd?: string | undefined; defaultCwd?: string } {
  const env = attemptEnv(offer, spec.env, options.runAs);
  const workDir = options.workDirOf?.(offer);
  if (workDir === undefined) return { env, cwd: spec.cwd };
  env.DROVER_WORK_DIR = workDir;
  return { env, cwd: spec.cwd, defaultCwd: workDir };
}

function spawnError(program: string, err: NodeJS.ErrnoException): string {
  if (err.code === 'ENOENT') return `${err.message}: program not found`;
  if (err.code === 'EACCES') return `${err.message}: permission denied (is ${program} executable?)`;
  return err.message;
}

/**
 * Where an attempt runs: its cwd, confined to the work root when there is one; or why it cannot
 * run. A job that names no cwd runs in `fallback` (its scratch directory), else in the work root.
 */
export async function confinedCwd(
  cwd: string | undefined,
  workRoot: string | undefined,
  fallback?: string,
): Promise<{ cwd?: string | undefined; problem?: string }> {
  if (cwd === undefined) return { cwd: fallback ?? workRoot };
  const wanted = workRoot === undefined ? cwd : resolvePath(workRoot, cwd);
  let real: string;
  try {
    const s = await stat(wanted);
    if (!s.isDirectory()) return { problem: `cwd ${cwd} is not a directory` };
    real = await realpath(wanted);
  } catch (err) {
    return { problem: `cwd ${cwd}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'directory not found' : (err as Error).message}` };
  }
  if (workRoot !== undefined) {
    // After realpath, so a symlink inside the root that points out of it is caught too.
    const rel = relative(workRoot, real);
    if (rel === '..' || rel.startsWith('../') || isAbsolute(rel))
      return {
        problem: `cwd ${cwd} is outside the agent's work root ${workRoot} (resolves to ${real}); jobs may only use directories under it`,
      };
  }
  return { cwd: real };
}

/** Starts `program args…` as the leader of a new process group, told to `watch` as soon as it exists. */
export function startProcess(
  program: string,
  args: readonly string[],
  spawnOptions: { env: NodeJS.ProcessEnv; cwd?: string | undefined; defaultCwd?: string },
  io: AttemptIO,
  options: ProcessExecutorOptions = {},
  watch?: GroupWatch,
): RunningAttempt {
  const killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  let stopReason: StopReason | undefined;
  let group: ProcessGroup | undefined;
  let leaderExited = false;
  /** The stop came after the main process had exited: the job's own outcome stands. */
  let stoppedAfterExit = false;
  let termSent = false;
  /** The attempt is ending: its group is being killed, or is gone. */
  let over = false;
  let graceOver = false;
  let graceTimer: NodeJS.Timeout | undefined;
  // Re-evaluates whether the attempt is over; set once the process is spawned.
  let check: () => void = () => undefined;

  const terminate = (): void => {
    // Once only: a member that traps SIGTERM to clean up should not run its handler twice.
    if (!group || termSent || over) return;
    termSent = true;
    group.signal('SIGTERM');
    graceTimer = setTimeout(() => {
      graceOver = true;
      group?.signal('SIGKILL');
      check();
    }, killGraceMs);
    check();
  };

  const run = async (): Promise<AttemptResult> => {
    const where = await confinedCwd(spawnOptions.cwd, options.workRoot, spawnOptions.defaultCwd);
    if (where.problem) return failedResult(where.problem);
    if (stopReason) return failedResult(stopReason.message, stopReason.outcome);
    return new Promise<AttemptResult>((resolve) => {
      const proc = spawn(program, args, {
        cwd: where.cwd,
        env: spawnOptions.env,
        ...(options.runAs ? { uid: options.runAs.uid, gid: options.runAs.gid } : {}),
        // A new process group (setsid), so one signal reaches the whole tree.
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        windowsHide: true,
      });
      if (proc.pid !== undefined) {
        group = new ProcessGroup(proc.pid);
        // In the same turn as the spawn: the agent's death from here on cannot leave the group behind.
        watch?.spawned(proc.pid);
      }
      let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
      let outputClosed = false;
      let drained = false;
      let drainTimer: NodeJS.Timeout | undefined;
      let pollTimer: NodeJS.Timeout | undefined;
      let polling = false;

      const finish = async (result: Omit<AttemptResult, 'cpuTimeMs' | 'peakMemoryBytes' | 'httpStatus'>, groupGone: boolean) => {
        if (over) return;
        // From here on only this function signals the group: a late stop() must not start a
        // grace timer that fires after the group is gone, when its number may name another.
        over = true;
        clearTimeout(graceTimer);
        clearTimeout(drainTimer);
        clearInterval(pollTimer);
        // Whatever the main process left behind is killed, and the result waits until it is gone,
        // so nothing of this attempt outlives its report.
        if (group && !groupGone && (await group.running())) {
          group.signal('SIGKILL');
          await group.gone(KILLED_GROUP_GONE_MS);
        }
        if (group) watch?.ended(group.pgid);
        proc.stdout?.destroy();
        proc.stderr?.destroy();
        const usage = group ? await processGroupSampler.finish(group.pgid) : { cpuTimeMs: null, peakMemoryBytes: null };
        resolve({ ...result, ...usage, httpStatus: null });
      };
      const settle = (groupGone: boolean) => {
        if (!exit) return;
        const { code, signal } = exit;
        let result: Omit<AttemptResult, 'cpuTimeMs' | 'peakMemoryBytes' | 'httpStatus'>;
        if (stopReason && !stoppedAfterExit) result = { outcome: stopReason.outcome, exitCode: code, signal, error: stopReason.message };
        else if (code === 0) result = { outcome: 'succeeded', exitCode: 0, signal: null, error: null };
        else if (code !== null) result = { outcome: 'failed', exitCode: code, signal: null, error: `exited with code ${code}` };
        else result = { outcome: 'failed', exitCode: null, signal, error: `killed by signal ${signal ?? 'unknown'}` };
        void finish(result, groupGone);
      };
      check = () => {
        if (!exit || over || !(outputClosed || drained)) return;
        if (!stopReason || graceOver) return settle(false);
        // Stopping, and the main process is gone: what is left of the group (a child cleaning up
        // after SIGTERM) gets the rest of its grace. End as soon as nothing of it runs.
        pollTimer ??= setInterval(check, STOPPING_POLL_MS);
        if (polling || !group) return;
        polling = true;
        void group.running().then((running) => {
          polling = false;
          if (!running && !over && !graceOver) settle(true);
        });
      };

      proc.once('spawn', () => {
        io.started(Date.now());
        if (proc.pid !== undefined) processGroupSampler.watch(proc.pid);
        if (stopReason) terminate();
      });
      proc.once('error', (err: NodeJS.ErrnoException) => {
        // Before 'spawn' this is a failure to start; afterwards only a failed kill, which we ignore.
        if (proc.pid === undefined) void finish(failedResult(spawnError(program, err)), true);
      });
      // When the agent holds too much unreported output, stop reading: the child then blocks
      // on its next write instead of the agent buffering without bound.
      let paused = false;
      const onData = (stream: 'stdout' | 'stderr') => (data: Buffer) => {
        io.output(stream, data);
        const room = paused || leaderExited ? undefined : io.roomForOutput?.();
        if (!room) return;
        paused = true;
        proc.stdout?.pause();
        proc.stderr?.pause();
        void room.then(resume);
      };
      const resume = () => {
        if (!paused) return;
        paused = false;
        proc.stdout?.resume();
        proc.stderr?.resume();
      };
      proc.stdout?.on('data', onData('stdout'));
      proc.stderr?.on('data', onData('stderr'));
      proc.once('exit', (code, signal) => {
        leaderExited = true;
        // What is left in the pipes is bounded by their size: read it so they can close.
        resume();
        exit = { code, signal };
        // Output still open: a leftover process holds the pipes. Give it a moment, then end it
        // (or, when stopping, let it have its grace).
        if (!outputClosed)
          drainTimer = setTimeout(() => {
            drained = true;
            check();
          }, OUTPUT_DRAIN_MS);
        check();
      });
      proc.once('close', () => {
        outputClosed = true;
        check();
      });
    });
  };

  return {
    result: run().catch((err: unknown) => failedResult(`could not run ${program}: ${(err as Error).message}`)),
    stop(reason) {
      if (stopReason) return;
      stopReason = reason;
      // The job already decided its outcome (exited) while its output drains: leftovers are
      // still stopped, but a job that exited 0 is not reported as timed out or cancelled.
      stoppedAfterExit = leaderExited;
      terminate();
    },
  };
}
