// While `drover logs -f` / `jobs run -f` wait for a run to start, its output stream is silent:
// say why the run waits (its queue reason, a delay, a retry's backoff), and each change of it,
// on stderr, so the person watching is not left guessing. Once the run is on an agent, its
// output speaks for itself.
import { setTimeout as sleep } from 'node:timers/promises';
import { ok, type Run } from '@drover/client';
import type { ClientContext } from './context.js';

/** How often the run is read while it waits; a wait is rarely worth knowing to the second. */
const POLL_MS = 1000;

const TERMINAL = new Set<Run['state']>(['succeeded', 'failed', 'timed_out', 'cancelled', 'lost', 'expired', 'skipped']);

type WaitingFields = Pick<Run, 'id' | 'state' | 'queueReason' | 'notBefore' | 'error'>;

/**
 * What to tell a person about a run that waits, or undefined when there is nothing worth
 * saying: it started or ended, or it is on its way (queued before the dispatcher looked at it,
 * offered), which a run that starts at once passes through too.
 */
export function waitingLine(run: WaitingFields): string | undefined {
  const at = (iso: string | null) => (iso ? ` (until ${iso})` : '');
  switch (run.state) {
    case 'pending':
      return `run ${run.id} is pending${at(run.notBefore)}`;
    case 'queued':
      return run.queueReason ? `run ${run.id} is queued: ${run.queueReason}` : undefined;
    case 'retrying':
      return `run ${run.id} is waiting to retry${at(run.notBefore)}${run.error ? `: ${run.error}` : ''}`;
    default:
      return undefined;
  }
}

/**
 * Writes a line each time the run's waiting line changes, until it starts or ends or `signal`
 * aborts. Reading the run may fail (a coordinator restarting): the log stream reports that.
 */
export async function reportWaiting(
  ctx: Pick<ClientContext, 'client'>,
  runId: string,
  signal: AbortSignal,
  write: (line: string) => void,
  pollMs = POLL_MS,
): Promise<void> {
  let last: string | undefined;
  while (!signal.aborted) {
    let run: Run;
    try {
      run = ok(await ctx.client.GET('/v1/runs/{id}', { params: { path: { id: runId } }, signal }));
    } catch {
      return;
    }
    if (run.state === 'running' || TERMINAL.has(run.state)) return;
    const line = waitingLine(run);
    if (line !== undefined && line !== last) write(line);
    last = line;
    await sleep(pollMs, undefined, { signal }).catch(() => undefined);
  }
}
