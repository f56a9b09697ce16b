// One job: its schedule's next fires, its recent runs, run now, pause or resume, and its
// definition as editable JSON.
import { get, post, qs } from '../../api/http.js';
import type { Job, Page, Run } from '../../api/types.js';
import { ActionButton } from '../../components/ActionButton.js';
import { Link } from '../../components/Link.js';
import { StateBadge } from '../../components/StateBadge.js';
import { ago, duration, shortId, wallClock } from '../../lib/format.js';
import { usePoll } from '../../lib/poll.js';
import { JsonEditor } from './JsonEditor.js';
import { RunNowForm } from './RunNowForm.js';

interface Preview {
  description: string;
  timezone: string;
  paused: boolean;
  fires: Array<{ utc: string; local: string }>;
}

function NextFires(props: { job: Job }) {
  const { data } = usePoll(
    () => get<Preview>(`/v1/jobs/${encodeURIComponent(props.job.id)}/schedule?next=5`),
    [props.job.id, props.job.updatedAt],
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
          <li key={f.utc} title={f.utc}>
            {wallClock(f.local)} <span class="muted">{data.timezone}</span> <span class="muted small">({ago(f.utc)})</span>
          </li>
        ))}
      </ol>
    </div>
  );
}

function RecentRuns(props: { job: Job }) {
  const { data } = usePoll(() => get<Page<Run>>(`/v1/runs${qs({ job: props.job.id, limit: 10 })}`), [props.job.id]);
  if (!data) return null;
  return (
    <div class="panel">
      <h2>
        Recent runs <Link to={`/runs?job=${encodeURIComponent(props.job.name)}`}>all {data.total.toLocaleString()} →</Link>
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
                <td class="muted">{ago(r.createdAt)}</td>
                <td class="num">{duration(r.durationMs)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

export function JobPage(props: { id: string }) {
  const { data: job, error, refresh } = usePoll(() => get<Job>(`/v1/jobs/${encodeURIComponent(props.id)}`), [props.id], 10_000);
  if (error) return <p class="error">{error.message}</p>;
  if (!job) return <p class="muted">Loading job…</p>;
  const path = `/v1/jobs/${encodeURIComponent(job.id)}`;
  return (
    <section>
      <div class="page-head">
        <h1>
          {job.name} <span class="muted small mono">{job.id}</span>
        </h1>
        <div class="actions">
          {job.schedule &&
            (job.pausedAt ? (
              <ActionButton action={() => post(`${path}/resume`)} onDone={refresh}>
                Resume schedule
              </ActionButton>
            ) : (
              <ActionButton action={() => post(`${path}/pause`)} onDone={refresh}>
                Pause schedule
              </ActionButton>
            ))}
        </div>
      </div>
      {job.description && <p>{job.description}</p>}
      <div class="columns">
        <div>
          <RunNowForm job={job} />
          {job.schedule && <NextFires job={job} />}
          <RecentRuns job={job} />
        </div>
        <JsonEditor job={job} onSaved={refresh} />
      </div>
    </section>
  );
}
