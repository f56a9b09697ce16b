// The reaper: one tiny POSIX sh process per agent that kills its attempts' process groups when
// the agent dies, however it dies (kill -9 and the OOM killer included). Attempts run in their
// own process groups (so that a stop reaches everything they started), which also means nothing
// ends them with the agent: without the reaper they would run on while the coordinator retries
// their runs elsewhere.
//
//   agent ──"+pgid" / "-pgid" lines──▶ reaper's stdin (a pipe)
//   agent dies ─▶ the kernel closes its end ─▶ EOF ─▶ SIGTERM to every group still listed,
//                                                     SIGKILL to what is left after the grace
//
// Why a shell and not a second Node process: dash starts in about a millisecond and holds about
// 1 MiB, a Node process about 40 ms and 40 MiB (see docs/fleet.md, "A job never outlives its agent").
// The reaper runs in its own session (no terminal: a Ctrl-C or a hang-up of the agent's terminal
// does not reach it) and ignores SIGINT, SIGTERM and SIGHUP, so it is not taken down first by a
// signal meant for the agent. It runs as the agent's user: with --run-as that is root, which may
// signal the jobs' user; otherwise the jobs run as that user anyway.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { DroverError } from '@drover/shared';

/** Between the SIGTERM and the SIGKILL the reaper sends to what an agent left: within the 2 s promise, with room for the kill. */
export const REAPER_GRACE_MS = 1_000;
/** How soon a reaper that died under a live agent is replaced when the last one also died quickly (a broken /bin/sh). */
const RESPAWN_BACKOFF_MS = 1_000;

// $1: the agent's pid (for its log line); $2: the grace in tenths of a second. Only digits > 1
// are taken as a group: `kill -- -0` would signal the reaper's own group and `-1` every process.
const SCRIPT = `
trap '' INT TERM HUP PIPE
set -f
agent=$1 tenths=$2 groups=' '
while read -r line; do
  g=\${line#?}
  case $g in ''|*[!0-9]*|0*|1) continue ;; esac
  case $line in
  +*) groups="$groups$g " ;;
  -*) case $groups in *" $g "*) groups="\${groups%% $g *} \${groups#* $g }" ;; esac ;;
  esac
done
set -- $groups
[ $# -gt 0 ] || exit 0
for g do kill -s TERM -- "-$g" 2>/dev/null; done
left=1 n=0
while [ -n "$left" ] && [ "$n" -lt "$tenths" ]; do
  sleep 0.1
  left=
  for g do if kill -s 0 -- "-$g" 2>/dev/null; then left=1; break; fi; done
  n=$((n + 1))
done
[ -z "$left" ] || for g do kill -s KILL -- "-$g" 2>/dev/null; done
printf '{"level":40,"role":"reaper","pid":%s,"agentPid":%s,"groups":"%s","sigkill":%s,"msg":"%s"}\\n' "$$" "$agent" "$*" "\${left:-0}" "the agent is gone: its attempts' process groups were sent SIGTERM (and SIGKILL after the grace when sigkill is 1)"
`;

/** SIGHUP, SIGINT, SIGPIPE and SIGTERM as bits of /proc/<pid>/status's SigIgn. */
const TRAPPED = (1n << 0n) | (1n << 1n) | (1n << 12n) | (1n << 14n);

/**
 * Waits (at most a second) until the reaper's shell ignores the signals it traps, so that once
 * `start` resolves a signal meant for the agent cannot take it. Without /proc there is nothing
 * to wait on: the trap is the script's first command.
 */
async function trapsSet(child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 1_000;
  while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
    let status: string;
    try {
      status = await readFile(`/proc/${child.pid}/status`, 'utf8');
    } catch {
      return;
    }
    const ignored = /SigIgn:\s*([0-9a-f]+)/.exec(status)?.[1];
    if (ignored === undefined || (BigInt(`0x${ignored}`) & TRAPPED) === TRAPPED) return;
    await new Promise((r) => setTimeout(r, 1));
  }
}

export interface ReaperOptions {
  /** Between SIGTERM and SIGKILL; default `REAPER_GRACE_MS`. */
  graceMs?: number;
  /** The POSIX shell to run; default /bin/sh. */
  shell?: string;
  /** Told when the reaper died under a live agent and was replaced. */
  onWarning?: (message: string, err?: unknown) => void;
}

/** Raised when the reaper cannot be started: the agent does not start without it. */
export class ReaperError extends DroverError {
  override name = 'ReaperError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('REAPER', message, options);
  }
}

/** The agent's reaper process: tell it each attempt's process group as it starts and when it is gone. */
export class Reaper {
  private child: ChildProcess | undefined;
  private readonly groups = new Set<number>();
  private closing: Promise<void> | undefined;
  private lastSpawnAt = 0;
  private respawnTimer: NodeJS.Timeout | undefined;

  private readonly opts: ReaperOptions;

  private constructor(opts: ReaperOptions) {
    this.opts = opts;
  }

  /** Spawns the reaper; rejects with a ReaperError (saying what to do) when it cannot run. */
  static async start(opts: ReaperOptions = {}): Promise<Reaper> {
    const reaper = new Reaper(opts);
    await reaper.spawn();
    return reaper;
  }

  /** The reaper's pid (it changes when a dead reaper is replaced). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * An attempt's process group exists. Call it synchronously after the spawn: the line reaches
   * the pipe before anything else runs (libuv writes at once to an idle pipe), so the group is
   * unprotected only between the fork and the return of `spawn` (under a millisecond).
   */
  watch(pgid: number): void {
    if (!Number.isInteger(pgid) || pgid <= 1 || this.closing) return;
    this.groups.add(pgid);
    this.send(`+${pgid}`);
  }

  /** The attempt's group is gone: the reaper forgets it (its number may name another group later). */
  unwatch(pgid: number): void {
    if (!this.groups.delete(pgid)) return;
    this.send(`-${pgid}`);
  }

  /** The groups watched now. */
  watched(): number[] {
    return [...this.groups];
  }

  /**
   * Closes the pipe, as the agent's death would: the reaper kills any group still watched
   * (none after a clean shutdown) and exits. Resolves once it has.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearTimeout(this.respawnTimer);
      const child = this.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit').catch(() => undefined);
      // Waited for: an embedding program that awaits this must not exit before the reaper did.
      child.ref();
      child.stdin?.end();
      await exited;
    })();
    return this.closing;
  }

  private async spawn(): Promise<void> {
    const shell = this.opts.shell ?? '/bin/sh';
    const tenths = Math.max(0, Math.ceil((this.opts.graceMs ?? REAPER_GRACE_MS) / 100));
    this.lastSpawnAt = Date.now();
    // Its own session (detached): no terminal signal reaches it. stdout is the agent's, for its one log line.
    const child = spawn(shell, ['-c', SCRIPT, 'drover-reaper', String(process.pid), String(tenths)], {
      detached: true,
      stdio: ['pipe', 'inherit', 'ignore'],
    });
    // A write to a reaper that just died fails with EPIPE: the exit handler replaces it.
    child.stdin?.on('error', () => undefined);
    try {
      await Promise.race([once(child, 'spawn'), once(child, 'error').then(([err]) => Promise.reject(err as Error))]);
    } catch (err) {
      throw new ReaperError(
        `cannot start the reaper (${shell}): ${(err as Error).message}. The agent needs a POSIX shell at ${shell} to make sure its jobs never outlive it`,
        { cause: err },
      );
    }
    await trapsSet(child);
    this.child = child;
    // Neither the process nor its pipe keeps an embedding program alive.
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    child.once('exit', (code, signal) => this.exited(child, code, signal));
    for (const pgid of this.groups) this.send(`+${pgid}`);
  }

  private exited(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.closing || child !== this.child) return;
    // Killed under a live agent (by hand, by the OOM killer): until another one runs, only the
    // attempt records protect the groups (an agent restarted on the state dir kills them).
    const soon = Date.now() - this.lastSpawnAt < RESPAWN_BACKOFF_MS;
    this.opts.onWarning?.(
      `the reaper (pid ${child.pid}) exited (${signal ?? `code ${code}`}) while the agent runs; starting another${soon ? ` in ${RESPAWN_BACKOFF_MS} ms` : ''}`,
    );
    this.respawnTimer = setTimeout(
      () => {
        this.spawn().catch((err: unknown) => {
          this.opts.onWarning?.((err as Error).message, err);
          if (!this.closing) this.exited(child, code, signal);
        });
      },
      soon ? RESPAWN_BACKOFF_MS : 0,
    );
    this.respawnTimer.unref();
  }

  private send(line: string): void {
    const stdin = this.child?.stdin;
    if (!stdin || stdin.destroyed || !stdin.writable) return;
    stdin.write(`${line}\n`);
  }
}
