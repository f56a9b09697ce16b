// Runs, newest first, filtered by job and state on the server and paginated with cursors:
// a history of 100,000 runs is read 50 at a time.
import { get } from '../../api/http.js';
import type { RunState } from '../../api/types.js';
import { Link } from '../../components/Link.js';
import { Pager, useCursors } from '../../components/Pager.js';
import { QueryInput } from '../../components/QueryInput.js';
import { StateBadge } from '../../components/StateBadge.js';
import { ago, between, duration, shortId, when } from '../../lib/format.js';
import { AgentName } from '../../components/AgentName.js';
import { agentNames } from './agent-names.js';
import { usePoll } from '../../lib/poll.js';
import { setQuery } from '../../lib/router.js';
import { allOf } from '../../lib/all-of.js';
import { jobNames } from './job-names.js';

const PAGE_SIZE = 50;
/** Every run state, in lifecycle order; a state the API adds or drops is a type error here. */
const RUN_STATES = allOf<RunState>()([
  'pending',
  'queued',
  'offered',
  'running',
  'retrying',
  'succeeded',
  'failed',
  'timed_out',
  'cancelled',
  'lost',
  'expired',
  'skipped',
]);
const GROUPS: Record<string, string> = {
  active: 'pending,queued,offered,running,retrying',
  'not succeeded': 'failed,timed_out,lost,expired',
};

async function loadRuns(job: string, state: string, cursor: string | undefined) {
  const page = await get('/v1/runs', { query: { job, state: GROUPS[state] ?? state, limit: PAGE_SIZE, cursor } });
  const [names, agents] = await Promise.all([jobNames(page.items.map((r) => r.jobId)), agentNames(page.items.map((r) => r.agentId))]);
  return { page, names, agents };
}

function RunTable(props: { job: string; state: string }) {
  const cursors = useCursors();
  const { data, error } = usePoll(() => loadRuns(props.job, props.state, cursors.cursor), [props.job, props.state, cursors.cursor]);
  if (error) return <p class="error">{error.message}</p>;
  if (!data) return <p class="muted">Loading runs…</p>;
  const { page, names, agents } = data;
  return (
    <>
      <table class="grid">
        <thead>
          <tr>
            <th>Run</th>
            <th>Job</th>
            <th>State</th>
            <th>Trigger</th>
            <th class="num">Attempt</th>
            <th>Agent</th>
            <th>Created</th>
            <th class="num">Duration</th>
            <th class="num">Exit</th>
          </tr>
        </thead>
        <tbody>
          {page.items.map((r) => (
            <tr key={r.id} data-run={r.id}>
              <td>
                <Link to={`/runs/${r.id}`} class="mono" title={r.id}>
                  {shortId(r.id)}
                </Link>
              </td>
              <td>
                <Link to={`/jobs/${r.jobId}`}>{names.get(r.jobId) ?? r.jobId}</Link>
              </td>
              <td>
                <StateBadge state={r.state} title={r.queueReason ?? r.skipReason ?? r.error ?? undefined} />
                {r.queueReason && <div class="muted small ellipsis">{r.queueReason}</div>}
                {r.error && (
                  <div class="small ellipsis run-error" title={r.error} data-run-error>
                    {r.error}
                  </div>
                )}
              </td>
              <td class="muted">{r.trigger}</td>
              <td class="num">{r.attempt}</td>
              <td class="small">
                <AgentName id={r.agentId} names={agents} />
              </td>
              <td title={when(r.createdAt)}>{ago(r.createdAt)}</td>
              <td class="num">{duration(r.durationMs ?? (r.state === 'running' ? between(r.startedAt, null) : null))}</td>
              <td class="num">{r.exitCode ?? r.signal ?? r.httpStatus ?? '–'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {page.items.length === 0 && <p class="empty">No run matches these filters.</p>}
      <Pager
        cursors={cursors}
        nextCursor={page.nextCursor}
        total={page.total}
        pageSize={PAGE_SIZE}
        shown={page.items.length}
        labels={['Newer', 'Older']}
      />
    </>
  );
}

export function RunsPage(props: { query: URLSearchParams }) {
  const job = props.query.get('job') ?? '';
  const state = props.query.get('state') ?? '';
  return (
    <section>
      <h1>Runs</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <QueryInput param="job" value={job} label="Job" placeholder="name or id" />
        <label>
          State
          <select name="state" value={state} onChange={(e) => setQuery({ state: e.currentTarget.value })}>
            <option value="">any</option>
            {Object.keys(GROUPS).map((g) => (
              <option key={g} value={g}>
                {g}
              </option>
            ))}
            {RUN_STATES.map((s) => (
              <option key={s} value={s}>
                {s.replace('_', ' ')}
              </option>
            ))}
          </select>
        </label>
      </form>
      <RunTable key={`${job}|${state}`} job={job} state={state} />
    </section>
  );
}
