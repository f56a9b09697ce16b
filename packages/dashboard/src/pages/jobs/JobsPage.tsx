// Jobs by name, a page at a time, each with its schedule in words and next fire in its own
// zone, the last outcome and the recent success rate; pause, resume and run now.
import { useState } from 'preact/hooks';
import { get, post } from '../../api/http.js';
import { refusal, useWhoami } from '../../api/whoami.js';
import type { Job, JobPage, JobSummary } from '../../api/types.js';
import { ActionButton } from '../../components/ActionButton.js';
import { Link } from '../../components/Link.js';
import { Pager, useCursors } from '../../components/Pager.js';
import { StateBadge } from '../../components/StateBadge.js';
import { ago, percent, wallClock, when } from '../../lib/format.js';
import { usePoll } from '../../lib/poll.js';
import { RunNowForm } from './RunNowForm.js';

const PAGE_SIZE = 50;

interface JobsView {
  page: JobPage;
  summaries: Map<string, JobSummary>;
}

async function loadJobs(cursor: string | undefined): Promise<JobsView> {
  const page = await get('/v1/jobs', { query: { limit: PAGE_SIZE, cursor } });
  const ids = page.items.map((j) => j.id);
  // The summaries are a separate call, so that plain GET /v1/jobs stays a cheap list.
  const { items } = ids.length ? await get('/v1/job-summaries', { query: { ids: ids.join(',') } }) : { items: [] };
  return { page, summaries: new Map(items.map((s) => [s.jobId, s])) };
}

function ScheduleCell(props: { summary: JobSummary | undefined }) {
  const s = props.summary?.schedule;
  if (!s) return <span class="muted">manual</span>;
  return (
    <>
      <div>{s.description}</div>
      <div class="muted small">
        {s.paused ? (
          <StateBadge state="paused" />
        ) : s.nextFireLocal ? (
          <span title={when(s.nextFireAt)}>
            next {wallClock(s.nextFireLocal)} {s.timezone} ({ago(s.nextFireAt)})
          </span>
        ) : (
          'no further fire'
        )}
      </div>
    </>
  );
}

/** The latest run whatever its state (a queued or running one too), when it ended or was created. */
function LastRunCell(props: { summary: JobSummary | undefined }) {
  const run = props.summary?.latestRun;
  if (!run) return <span class="muted">never</span>;
  const at = run.finishedAt ?? run.createdAt;
  return (
    <span data-last-run={run.state}>
      <Link to={`/runs/${run.id}`}>
        <StateBadge state={run.state} />{' '}
        <span class="muted small" title={when(at)}>
          {run.finishedAt ? ago(at) : `since ${ago(at)}`}
        </span>
      </Link>
    </span>
  );
}

function SuccessCell(props: { summary: JobSummary | undefined }) {
  const s = props.summary;
  if (!s || s.successRate === null) return <span class="muted">–</span>;
  return (
    <div title={`${Math.round(s.successRate * s.recentFinished)} of the last ${s.recentFinished} finished runs succeeded`}>
      <div class="meter meter-thin">
        <div class={`meter-fill ${s.successRate < 0.8 ? 'meter-hot' : 'meter-ok'}`} style={{ width: percent(s.successRate) }} />
      </div>
      <span class="small">
        {percent(s.successRate)} <span class="muted">of {s.recentFinished}</span>
      </span>
    </div>
  );
}

function JobRow(props: { job: Job; summary: JobSummary | undefined; onChanged: () => void }) {
  const { job, summary } = props;
  const [running, setRunning] = useState(false);
  const cannotRun = refusal(useWhoami(), 'trigger');
  const id = { path: { id: job.id } };
  return (
    <>
      <tr data-job={job.name}>
        <td>
          <Link to={`/jobs/${job.id}`} class="strong">
            {job.name}
          </Link>
          <div class="muted small">{job.executor.type}</div>
        </td>
        <td>
          <ScheduleCell summary={summary} />
        </td>
        <td>
          <LastRunCell summary={summary} />
        </td>
        <td>
          <SuccessCell summary={summary} />
        </td>
        <td class="actions">
          <button type="button" disabled={cannotRun !== undefined} title={cannotRun} onClick={() => setRunning((r) => !r)}>
            Run now…
          </button>
          {job.schedule &&
            (job.pausedAt ? (
              <ActionButton needs="operate" action={() => post('/v1/jobs/{id}/resume', id)} onDone={props.onChanged}>
                Resume
              </ActionButton>
            ) : (
              <ActionButton needs="operate" action={() => post('/v1/jobs/{id}/pause', id)} onDone={props.onChanged}>
                Pause
              </ActionButton>
            ))}
          {/* By id: a name may be taken in another namespace too, and then names no single job. */}
          <Link to={`/runs?job=${job.id}`} class="button">
            Runs
          </Link>
          <Link to={`/jobs/${job.id}`} class="button">
            Edit
          </Link>
        </td>
      </tr>
      {running && (
        <tr class="expanded">
          <td colSpan={5}>
            <RunNowForm job={job} onClose={() => setRunning(false)} />
          </td>
        </tr>
      )}
    </>
  );
}

export function JobsPage() {
  const cursors = useCursors();
  const { data, error, refresh } = usePoll(() => loadJobs(cursors.cursor), [cursors.cursor]);
  return (
    <section>
      <div class="page-head">
        <h1>Jobs</h1>
        <div class="actions">
          <Link to="/jobs/new" class="button primary">
            New job
          </Link>
        </div>
      </div>
      {error && <p class="error">{error.message}</p>}
      {!data && !error && <p class="muted">Loading jobs…</p>}
      {data && (
        <>
          <table class="grid">
            <thead>
              <tr>
                <th>Job</th>
                <th>Schedule</th>
                <th>Last run</th>
                <th>Success, recent runs</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {data.page.items.map((j) => (
                <JobRow key={j.id} job={j} summary={data.summaries.get(j.id)} onChanged={refresh} />
              ))}
            </tbody>
          </table>
          {data.page.items.length === 0 && (
            <p class="empty">No job yet: define one with "drover jobs apply -f job.yaml" (or POST /v1/jobs).</p>
          )}
          <Pager
            cursors={cursors}
            nextCursor={data.page.nextCursor}
            total={data.page.total}
            pageSize={PAGE_SIZE}
            shown={data.page.items.length}
          />
        </>
      )}
    </section>
  );
}
