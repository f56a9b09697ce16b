// What the agent's reaper costs, against the alternative of a second Node process holding the
// pipe, and how fast it kills: each started N times from this process (as the agent starts it).
//   start: spawn until the shell ignores the signals it traps (Reaper.start resolves)
//   rss:   resident memory of the idle reaper
//   kill:  pipe closed (as by the agent's death) until a watched `sleep` group is gone
// Prints one JSON line. Run `npm run build` first.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { Reaper } from '../packages/agent/dist/reaper.js';

const N = Number(process.env.BENCH_REAPER_STARTS ?? 20);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);

/** Whether the sleep leading `pgid` still runs (its zombie counts as gone: this process reaps it later). */
function groupRuns(pgid) {
  try {
    const stat = readFileSync(`/proc/${pgid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

async function sh() {
  const start = [];
  const rss = [];
  const kill = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    const reaper = await Reaper.start();
    start.push(performance.now() - t0);
    rss.push(rssKiB(reaper.pid));
    const sleeper = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
    await once(sleeper, 'spawn');
    reaper.watch(sleeper.pid);
    const t1 = performance.now();
    const closing = reaper.close();
    while (groupRuns(sleeper.pid)) await new Promise((r) => setTimeout(r, 1));
    kill.push(performance.now() - t1);
    await closing;
  }
  return { startMs: +median(start).toFixed(1), rssKiB: median(rss), pipeClosedToGoneMs: +median(kill).toFixed(1) };
}

async function node() {
  const start = [];
  const rss = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['-e', 'process.stdin.on("data",()=>{});console.log("ready")'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    await once(child.stdout, 'data');
    start.push(performance.now() - t0);
    rss.push(rssKiB(child.pid));
    child.stdin.end();
    await once(child, 'exit');
  }
  return { startMs: +median(start).toFixed(1), rssKiB: median(rss) };
}

console.log(JSON.stringify({ starts: N, shReaper: await sh(), nodeProcess: await node() }));
