// One job: its schedule's next fires, its recent runs, run now, pause or resume, delete, and
// its definition as editable JSON and as YAML (what "drover jobs apply -f" takes).
import { stringify } from 'yaml';
import { jobDefinitionOf } from '@drover/client/merge-patch';
import { del, get, post } from '../../api/http.js';
import type { Job } from '../../api/types.js';
import { ActionButton } from '../../components/ActionButton.js';
import { Link } from '../../components/Link.js';
import { StateBadge } from '../../components/StateBadge.js';
import { ago, duration, shortId, wallClock, when } from '../../lib/format.js';
import { usePoll } from '../../lib/poll.js';
import { navigate } from '../../lib/router.js';
import { JsonEditor } from './JsonEditor.js';
import { RunNowForm } from './RunNowForm.js';

function NextFires(props: { job: Job }) {
  // The fires change with an edit or a pause (read again at once, through deps) and as each
  // one passes: every 30 s is live enough for a list of fires minutes apart or more.
  const { data } = usePoll(
    () => get('/v1/jobs/{id}/schedule', { path: { id: props.job.id }, query: { next: 5 } }),
    [props.job.id, props.job.updatedAt, props.job.pausedAt],
    30_000,
  );
  if (!data) return null;
  return (
    <div class="panel">
      <h2>Schedule</h2>
      <p>
        {data.description} {data.paused && <StateBadge state="paused" />}
      </p>
      <ol class="fires">
        {data.fires.map((f) => (
          <li key={f.utc} title={when(f.utc)}>
            {wallClock(f.local)} <span class="muted">{data.timezone}</span> <span class="muted small">({ago(f.utc)})</span>
          </li>
        ))}
      </ol>
    </div>
  );
}

function RecentRuns(props: { job: Job }) {
  const { data } = usePoll(() => get('/v1/runs', { query: { job: props.job.id, limit: 10 } }), [props.job.id]);
  if (!data) return null;
  return (
    <div class="panel">
      <h2>
        Recent runs <Link to={`/runs?job=${props.job.id}`}>all {data.total.toLocaleString()} →</Link>
      </h2>
      {data.items.length === 0 ? (
        <p class="muted">None yet.</p>
      ) : (
        <table class="grid compact">
          <tbody>
            {data.items.map((r) => (
              <tr key={r.id}>
                <td>
                  <Link to={`/runs/${r.id}`} class="mono">
                    {shortId(r.id)}
                  </Link>
                </td>
                <td>
                  <StateBadge state={r.state} />
                </td>
                <td class="muted">{r.trigger}</td>
                <td class="muted" title={when(r.createdAt)}>
                  {ago(r.createdAt)}
                </td>
                <td class="num">{duration(r.durationMs)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function DefinitionYaml(props: { job: Job }) {
  return (
    <details class="panel" data-definition-yaml>
      <summary>Definition as YAML</summary>
      <pre class="yaml mono">{stringify(jobDefinitionOf(props.job))}</pre>
    </details>
  );
}

export function JobPage(props: { id: string }) {
  // Every 2 s like every page: a pause or an edit made elsewhere shows at once.
  const { data: job, error, refresh } = usePoll(() => get('/v1/jobs/{id}', { path: { id: props.id } }), [props.id]);
  if (error) return <p class="error">{error.message}</p>;
  if (!job) return <p class="muted">Loading job…</p>;
  const id = { path: { id: job.id } };
  return (
    <section>
      <div class="page-head">
        <h1>
          {job.name} <span class="muted small mono">{job.id}</span>
        </h1>
        <div class="actions">
          {job.schedule &&
            (job.pausedAt ? (
              <ActionButton needs="operate" action={() => post('/v1/jobs/{id}/resume', id)} onDone={refresh}>
                Resume schedule
              </ActionButton>
            ) : (
              <ActionButton needs="operate" action={() => post('/v1/jobs/{id}/pause', id)} onDone={refresh}>
                Pause schedule
              </ActionButton>
            ))}
          <ActionButton
            needs="operate"
            kind="danger"
            confirm={`Delete the job ${job.name}? Its queued runs are cancelled; its history is kept.`}
            action={() => del('/v1/jobs/{id}', id)}
            onDone={() => navigate('/jobs')}
          >
            Delete job
          </ActionButton>
        </div>
      </div>
      {job.description && <p>{job.description}</p>}
      <div class="columns">
        <div>
          <RunNowForm job={job} />
          {job.schedule && <NextFires job={job} />}
          <RecentRuns job={job} />
        </div>
        <div>
          <JsonEditor job={job} onSaved={refresh} />
          <DefinitionYaml job={job} />
        </div>
      </div>
    </section>
  );
}
