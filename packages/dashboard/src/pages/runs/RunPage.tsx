// One run: its state with cancel and retry, timings, placement, outcome and resource use,
// every attempt, its state history, and its output live.
import type { ComponentChildren } from 'preact';
import { get, post } from '../../api/http.js';
import type { Attempt, RunState } from '../../api/types.js';
import { ActionButton } from '../../components/ActionButton.js';
import { Link } from '../../components/Link.js';
import { StateBadge } from '../../components/StateBadge.js';
import { between, bytes, duration, when } from '../../lib/format.js';
import { usePoll } from '../../lib/poll.js';
import { AgentName } from '../../components/AgentName.js';
import { agentNames } from './agent-names.js';
import { jobNames } from './job-names.js';
import { LogView } from './LogView.js';

const TERMINAL: readonly RunState[] = ['succeeded', 'failed', 'timed_out', 'cancelled', 'lost', 'expired', 'skipped'];

function Fact(props: { label: string; children: ComponentChildren }) {
  return (
    <>
      <dt>{props.label}</dt>
      <dd>{props.children}</dd>
    </>
  );
}

function outcomeOf(a: { exitCode: number | null; signal: string | null; httpStatus: number | null; error: string | null }): string {
  if (a.exitCode !== null) return `exit ${a.exitCode}`;
  if (a.signal) return a.signal;
  if (a.httpStatus !== null) return `HTTP ${a.httpStatus}`;
  return a.error ?? '–';
}

function Attempts(props: { attempts: Attempt[]; agents: ReadonlyMap<string, string> }) {
  return (
    <div class="panel">
      <h2>Attempts</h2>
      <table class="grid compact">
        <thead>
          <tr>
            <th class="num">#</th>
            <th>Outcome</th>
            <th>Agent</th>
            <th>Started</th>
            <th class="num">Duration</th>
            <th>Result</th>
            <th class="num">CPU time</th>
            <th class="num">Peak memory</th>
            <th class="num">Output</th>
          </tr>
        </thead>
        <tbody>
          {props.attempts.map((a) => (
            <tr key={a.attempt} data-attempt={a.attempt}>
              <td class="num">{a.attempt}</td>
              <td>
                <StateBadge state={a.outcome} />
                {a.violatedAt && <span class="badge badge-wait">over expected time</span>}
              </td>
              <td class="small">
                <AgentName id={a.agentId} names={props.agents} />
              </td>
              <td>{when(a.startedAt)}</td>
              <td class="num">{duration(a.durationMs ?? (a.finishedAt ? null : between(a.startedAt, null)))}</td>
              <td class="ellipsis" title={a.error ?? ''}>
                {outcomeOf(a)}
              </td>
              <td class="num">{duration(a.cpuTimeMs)}</td>
              <td class="num">{bytes(a.peakMemoryBytes)}</td>
              <td class="num">{bytes(a.outputBytes)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {props.attempts.length === 0 && <p class="muted">No attempt yet.</p>}
    </div>
  );
}

export function RunPage(props: { id: string }) {
  const { data, error, refresh } = usePoll(async () => {
    const run = await get('/v1/runs/{id}', { path: { id: props.id } });
    const agentIds = [
      run.agentId,
      ...run.attempts.map((a) => a.agentId),
      ...run.transitions.map((t) => t.agentId),
      ...run.rejectedEvents.map((r) => r.agentId),
    ];
    const [jobs, agents] = await Promise.all([jobNames([run.jobId]), agentNames(agentIds)]);
    return { run, jobName: jobs.get(run.jobId) ?? run.jobId, agents };
  }, [props.id]);
  if (error) return <p class="error">{error.message}</p>;
  if (!data) return <p class="muted">Loading run…</p>;
  const { run, jobName, agents } = data;
  const finished = TERMINAL.includes(run.state);
  const id = { path: { id: run.id } };
  // A run queued again (lost, retried) keeps its last start: no wait to show until it starts anew.
  const waited = run.queuedAt && run.startedAt ? between(run.queuedAt, run.startedAt) : null;
  return (
    <section>
      <div class="page-head">
        <h1>
          Run <span class="mono">{run.id}</span>
        </h1>
        <div class="actions">
          {!finished && (
            <ActionButton
              needs="operate"
              action={() => post('/v1/runs/{id}/cancel', { ...id, body: { reason: 'cancelled from the dashboard' } })}
              onDone={refresh}
              kind="danger"
              confirm="Cancel this run?"
            >
              Cancel
            </ActionButton>
          )}
          {finished && (
            <ActionButton needs="operate" action={() => post('/v1/runs/{id}/retry', id)} onDone={refresh} kind="primary">
              Retry
            </ActionButton>
          )}
        </div>
      </div>
      <dl class="facts">
        <Fact label="State">
          <span data-run-state={run.state}>
            <StateBadge state={run.state} />
          </span>
          {run.cancelRequestedAt && !finished && <span class="muted small"> stopping (cancel asked {when(run.cancelRequestedAt)})</span>}
          {(run.queueReason ?? run.skipReason) && <div class="muted small">{run.queueReason ?? run.skipReason}</div>}
        </Fact>
        <Fact label="Job">
          <Link to={`/jobs/${run.jobId}`}>{jobName}</Link>
        </Fact>
        <Fact label="Trigger">
          {run.trigger}
          {run.fireAt && <span class="muted"> for the fire of {when(run.fireAt)}</span>}
        </Fact>
        <Fact label="Agent">{run.agentId ? <AgentName id={run.agentId} names={agents} /> : <span class="muted">none</span>}</Fact>
        <Fact label="Attempt">
          {run.attempt} <span class="muted">(priority {run.priority})</span>
        </Fact>
        <Fact label="Result">
          {finished ? outcomeOf(run) : '–'}
          {run.error && <div class="muted small">{run.error}</div>}
        </Fact>
        <Fact label="Created">{when(run.createdAt)}</Fact>
        <Fact label="Started">
          {when(run.startedAt)} {waited !== null && waited >= 0 && <span class="muted">(waited {duration(waited)})</span>}
        </Fact>
        <Fact label="Finished">{when(run.finishedAt)}</Fact>
        <Fact label="Duration">{duration(run.durationMs ?? (run.state === 'running' ? between(run.startedAt, null) : null))}</Fact>
        <Fact label="CPU time">{duration(run.cpuTimeMs)}</Fact>
        <Fact label="Peak memory">{bytes(run.peakMemoryBytes)}</Fact>
        <Fact label="Output">
          {bytes(run.outputBytes)}
          {run.droppedBytes ? <span class="muted"> ({bytes(run.droppedBytes)} dropped over the log limit)</span> : null}
        </Fact>
        <Fact label="Parameters">
          {Object.keys(run.parameters).length === 0 ? (
            <span class="muted">none</span>
          ) : (
            <div class="chips">
              {Object.entries(run.parameters).map(([k, v]) => (
                <span key={k} class="chip mono">
                  {k}={v}
                </span>
              ))}
            </div>
          )}
        </Fact>
      </dl>
      <LogView runId={run.id} live={!finished} />
      <Attempts attempts={run.attempts} agents={agents} />
      <details class="panel">
        <summary>State history ({run.transitions.length})</summary>
        <ol class="history">
          {run.transitions.map((t, i) => (
            <li key={i}>
              <span class="muted">{when(t.at)}</span> {t.from ?? '∅'} → <StateBadge state={t.to} />
              {t.agentId && (
                <span class="small">
                  {' '}
                  on <AgentName id={t.agentId} names={agents} />
                </span>
              )}
              {t.reason && <span class="muted"> — {t.reason}</span>}
            </li>
          ))}
        </ol>
      </details>
      {run.rejectedEvents.length > 0 && (
        <details class="panel" open data-rejected-events>
          <summary>Reported events that could not be stored ({run.rejectedEvents.length})</summary>
          <ul class="history">
            {run.rejectedEvents.map((r, i) => (
              <li key={i}>
                <span class="muted">{when(r.at)}</span> {r.kind}
                {r.seq !== null && ` chunk ${r.seq}`}{' '}
                <span class="small">
                  from <AgentName id={r.agentId} names={agents} />
                </span>
                <span class="muted"> — {r.reason}</span>
              </li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}
