// The process group of one attempt: signalling it, and telling whether anything of it still
// runs. `kill(-pgid, 0)` alone cannot tell: it also reaches zombies, and an orphaned member
// stays a zombie until init reaps it, which a container's init may never do. On Linux the
// members are read from /proc, zombies excluded; elsewhere `kill` is all there is.
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';

/** Sends `signal` to every process of the group; a group that is gone already is fine. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    // EPERM: a member changed its user (setuid); it exists all the same.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** What the agent needs of a /proc/<pid>/stat line. */
export interface ProcStat {
  pgrp: number;
  zombie: boolean;
  /** When the process started, in clock ticks since boot: with the pid, it names one process for the host's uptime. */
  startTime: number;
}

/** Parses a /proc/<pid>/stat line. */
function parseStat(text: string): ProcStat {
  // `pid (comm) state ppid pgrp …`: comm may hold spaces and parentheses, so split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { pgrp: Number(fields[2]), zombie: fields[0] === 'Z' || fields[0] === 'X', startTime: Number(fields[19]) };
}

/** `pgrp`, state and start time of a process, or undefined when it is gone (or there is no /proc). */
export async function readStat(pid: number): Promise<ProcStat | undefined> {
  try {
    return parseStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** `readStat`, synchronously: for the moment right after a spawn, before anything else can run. */
export function readStatSync(pid: number): ProcStat | undefined {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Answers "does anything of this group still run?", cheaply when asked repeatedly. */
export class ProcessGroup {
  /** Members seen running at the last full scan; re-read first, so a busy group costs few reads. */
  private known: number[] = [];

  constructor(readonly pgid: number) {}

  signal(signal: NodeJS.Signals): void {
    signalGroup(this.pgid, signal);
  }

  async running(): Promise<boolean> {
    if (!signalGroup(this.pgid, 0)) return false;
    if (process.platform !== 'linux') return true;
    for (const pid of this.known) {
      const s = await readStat(pid);
      if (s && s.pgrp === this.pgid && !s.zombie) return true;
    }
    // The members we knew are gone, but one may have forked a new one before it went: look at all.
    let names: string[];
    try {
      names = await readdir('/proc');
    } catch {
      return true;
    }
    const stats = await Promise.all(
      names.filter((n) => /^\d+$/.test(n)).map(async (n) => ({ pid: Number(n), s: await readStat(Number(n)) })),
    );
    this.known = stats.filter(({ s }) => s && s.pgrp === this.pgid && !s.zombie).map(({ pid }) => pid);
    return this.known.length > 0;
  }

  /** Resolves once nothing of the group runs, or after `timeoutMs` (a process stuck in the kernel may outlive SIGKILL). */
  async gone(timeoutMs: number, pollMs = 20): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!(await this.running())) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }
}
