// Host usage for heartbeats, from counters Node keeps anyway: cheap enough to sample each beat.
import os from 'node:os';
import type { AgentUsage } from '@drover/shared';

function cpuTimes(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const cpu of os.cpus()) {
    const t = cpu.times;
    idle += t.idle;
    total += t.user + t.nice + t.sys + t.idle + t.irq;
  }
  return { idle, total };
}

/** Samples host usage; CPU percent is measured between consecutive calls (0 on the first). */
export class UsageSampler {
  private last = cpuTimes();

  sample(slotsUsed: number): AgentUsage {
    const now = cpuTimes();
    const total = now.total - this.last.total;
    const idle = now.idle - this.last.idle;
    this.last = now;
    const cpuPercent = total > 0 ? Math.round(Math.min(100, Math.max(0, (1 - idle / total) * 100)) * 10) / 10 : 0;
    return {
      cpuPercent,
      load1: os.loadavg()[0] ?? 0,
      memoryUsedBytes: os.totalmem() - os.freemem(),
      slotsUsed,
    };
  }
}
