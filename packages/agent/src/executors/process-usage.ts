// CPU time and peak memory of an attempt's process group, *sampled* from /proc (Linux only).
//
// Node does not expose a child's rusage, so one shared timer reads /proc about every
// 100 ms for all watched groups, and once more when an attempt ends. The figures are lower
// bounds: CPU time is the largest sum seen of utime+stime+cutime+cstime over live members
// (a reaped member's time moves into its parent's cutime), peak memory the larger of the
// largest summed VmRSS seen and the largest single-member VmHWM. Elsewhere they are null.
import { readdir, readFile } from 'node:fs/promises';

const SAMPLE_INTERVAL_MS = 100;
/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every mainstream Linux architecture. */
const CLOCK_TICKS_PER_SECOND = 100;

/** What was observed of one process group so far. */
export interface GroupUsage {
  cpuTimeMs: number | null;
  peakMemoryBytes: number | null;
}

interface GroupStats {
  cpuTicks: number | null;
  peakRssBytes: number | null;
  peakHwmBytes: number | null;
}

interface ProcSample {
  pgrp: number;
  ticks: number;
}

function parseStat(text: string): ProcSample | undefined {
  // `pid (comm) state ppid pgrp …`: comm may hold spaces and parentheses, so split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const pgrp = Number(fields[2]);
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
  return Number.isFinite(pgrp) && Number.isFinite(ticks) ? { pgrp, ticks } : undefined;
}

function statusKiB(status: string, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

async function readOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** One /proc scanner shared by every attempt on the agent, so sampling cost does not grow with slots. */
class ProcessGroupSampler {
  private readonly groups = new Map<number, GroupStats>();
  /** Processes seen in groups we do not watch; their group never changes to one of ours, so skip them. */
  private readonly foreign = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  readonly supported = process.platform === 'linux';

  watch(pgid: number): void {
    if (!this.supported) return;
    this.groups.set(pgid, { cpuTicks: null, peakRssBytes: null, peakHwmBytes: null });
    // A scan may have met the new group's first processes just before it was watched.
    for (const [pid, pgrp] of this.foreign) if (pgrp === pgid || pid === pgid) this.foreign.delete(pid);
    if (!this.timer) {
      // A failed sample is only a missing figure: the next one follows (finish() reports its own).
      this.timer = setInterval(() => this.scan().catch(() => undefined), SAMPLE_INTERVAL_MS);
      this.timer.unref();
    }
    this.scan().catch(() => undefined);
  }

  /** Samples once more, stops watching the group and returns what was seen. */
  async finish(pgid: number): Promise<GroupUsage> {
    if (!this.supported) return { cpuTimeMs: null, peakMemoryBytes: null };
    await this.scan();
    const stats = this.groups.get(pgid);
    this.groups.delete(pgid);
    if (this.groups.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    if (!stats || stats.cpuTicks === null) return { cpuTimeMs: null, peakMemoryBytes: null };
    const peak = Math.max(stats.peakRssBytes ?? 0, stats.peakHwmBytes ?? 0);
    return { cpuTimeMs: Math.round((stats.cpuTicks * 1000) / CLOCK_TICKS_PER_SECOND), peakMemoryBytes: peak > 0 ? peak : null };
  }

  /** Runs one scan, or joins the one in progress and then runs a fresh one. */
  private scan(): Promise<void> {
    const next = (this.scanning ?? Promise.resolve()).then(() => this.scanOnce());
    const mine = next.finally(() => {
      if (this.scanning === mine) this.scanning = undefined;
    });
    this.scanning = mine;
    return mine;
  }

  private async scanOnce(): Promise<void> {
    if (this.groups.size === 0) return;
    let names: string[];
    try {
      names = await readdir('/proc');
    } catch {
      return;
    }
    const pids = names.filter((n) => /^\d+$/.test(n)).map(Number);
    const live = new Set(pids);
    for (const pid of this.foreign.keys()) if (!live.has(pid)) this.foreign.delete(pid);
    const totals = new Map<number, { ticks: number; rss: number; hwm: number }>();
    await Promise.all(
      pids
        .filter((pid) => !this.foreign.has(pid))
        .map(async (pid) => {
          const stat = await readOrUndefined(`/proc/${pid}/stat`);
          const sample = stat === undefined ? undefined : parseStat(stat);
          if (!sample) return;
          if (!this.groups.has(sample.pgrp)) {
            this.foreign.set(pid, sample.pgrp);
            return;
          }
          const status = (await readOrUndefined(`/proc/${pid}/status`)) ?? '';
          const t = totals.get(sample.pgrp) ?? { ticks: 0, rss: 0, hwm: 0 };
          t.ticks += sample.ticks;
          t.rss += statusKiB(status, 'VmRSS');
          t.hwm = Math.max(t.hwm, statusKiB(status, 'VmHWM'));
          totals.set(sample.pgrp, t);
        }),
    );
    for (const [pgid, t] of totals) {
      const stats = this.groups.get(pgid);
      if (!stats) continue;
      stats.cpuTicks = Math.max(stats.cpuTicks ?? 0, t.ticks);
      stats.peakRssBytes = Math.max(stats.peakRssBytes ?? 0, t.rss);
      stats.peakHwmBytes = Math.max(stats.peakHwmBytes ?? 0, t.hwm);
    }
  }
}

/** The agent-wide sampler. */
export const processGroupSampler = new ProcessGroupSampler();
