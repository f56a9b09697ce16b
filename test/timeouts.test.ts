// A job that outlives its `timeout`, with a child that ignores SIGTERM, on a real agent: the
// run ends `timed_out`, and nothing of it is left running. The agent sends SIGTERM to the
// job's process group at the timeout and SIGKILL once the job's `killGracePeriod` is over.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { processGone as gone, useCluster, waitFor } from './support/index.js';

// $1 is the pid file. The child ignores SIGTERM (an ignored signal stays ignored across exec);
// the main process does not. Both record their pid, then sleep far past the timeout.
const SCRIPT = `sh -c 'trap "" TERM; echo $$ >> "$0"; exec sleep 300' "$1" &
echo $$ >> "$1"
exec sleep 300`;

const cluster = useCluster({ agents: [{ labels: { pool: 'timeouts' } }] });

it('a timed-out run leaves nothing running: SIGTERM at the timeout, SIGKILL after killGracePeriod', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-timeouts-'));
  cluster.env.onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const pidFile = join(dir, 'pids');
  const jobId = await cluster.createJob({
    name: 'outlives-its-timeout',
    executor: { type: 'exec', command: ['sh', '-c', SCRIPT, 'sh', pidFile] },
    constraints: [{ attribute: 'label.pool', operator: '=', value: 'timeouts' }],
    timeout: '1s',
    killGracePeriod: '2s',
  });
  const runId = await cluster.trigger(jobId);

  const pids = await waitFor(
    () => {
      const text = (() => {
        try {
          return readFileSync(pidFile, 'utf8');
        } catch {
          return '';
        }
      })();
      const found = text.split('\n').filter(Boolean).map(Number);
      return found.length === 2 ? found : undefined;
    },
    { description: 'both processes to write their pids' },
  );
  const run = await cluster.waitForTerminal(runId);
  expect(run).toMatchObject({ state: 'timed_out', error: 'timed out after 1s' });
  await waitFor(() => (pids.every(gone) ? true : undefined), { timeoutMs: 10_000, description: `processes ${pids.join(', ')} to be gone` });

  // Measured, never asserted: the timeout plus whatever the grace took (the child ignores SIGTERM, so all of it).
  const seconds = (Date.parse(run.finishedAt ?? '') - Date.parse(run.startedAt ?? '')) / 1000;
  console.log(`timeouts: run ${run.id} started → timed_out in ${seconds.toFixed(2)} s (timeout 1s, killGracePeriod 2s)`);
});
