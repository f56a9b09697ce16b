// Dead letters: runs that ended without success after their last allowed attempt. Replay gives
// one more attempt; dismiss takes the entry off the open list.
import { get, post } from '../api/http.js';
import { ActionButton } from '../components/ActionButton.js';
import { Link } from '../components/Link.js';
import { Pager, useCursors } from '../components/Pager.js';
import { StateBadge } from '../components/StateBadge.js';
import { ago, shortId } from '../lib/format.js';
import { usePoll } from '../lib/poll.js';
import { setQuery } from '../lib/router.js';

const PAGE_SIZE = 50;
const STATUSES = ['open', 'replayed', 'dismissed', 'all'] as const;
type Status = (typeof STATUSES)[number];

function DeadLetterTable(props: { status: Status }) {
  const cursors = useCursors();
  const { data, error, refresh } = usePoll(
    () => get('/v1/dead-letters', { query: { status: props.status, limit: PAGE_SIZE, cursor: cursors.cursor } }),
    [props.status, cursors.cursor],
  );
  if (error) return <p class="error">{error.message}</p>;
  if (!data) return <p class="muted">Loading dead letters…</p>;
  return (
    <>
      <table class="grid">
        <thead>
          <tr>
            <th>Run</th>
            <th>Job</th>
            <th>Ended</th>
            <th>Why</th>
            <th>When</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {data.items.map((d) => (
            <tr key={d.runId} data-dead-letter={d.runId}>
              <td>
                <Link to={`/runs/${d.runId}`} class="mono" title={d.runId}>
                  {shortId(d.runId)}
                </Link>
              </td>
              <td>
                <Link to={`/jobs/${d.jobId}`}>{d.jobName}</Link>
              </td>
              <td>
                <StateBadge state={d.state} /> <span class="muted small">attempt {d.attempt}</span>
              </td>
              <td class="reason">{d.reason}</td>
              <td title={d.createdAt}>{ago(d.createdAt)}</td>
              <td class="actions">
                {d.resolution ? (
                  <span class="muted small">
                    {d.resolution} {ago(d.resolvedAt)}
                  </span>
                ) : (
                  <>
                    <ActionButton
                      needs="operate"
                      action={() => post('/v1/dead-letters/{runId}/replay', { path: { runId: d.runId } })}
                      onDone={refresh}
                      kind="primary"
                    >
                      Replay
                    </ActionButton>
                    <ActionButton
                      needs="operate"
                      action={() => post('/v1/dead-letters/{runId}/dismiss', { path: { runId: d.runId } })}
                      onDone={refresh}
                    >
                      Dismiss
                    </ActionButton>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {data.items.length === 0 && (
        <p class="empty">{props.status === 'open' ? 'No open dead letter. Every run that failed for good has been handled.' : 'None.'}</p>
      )}
      <Pager
        cursors={cursors}
        nextCursor={data.nextCursor}
        total={data.total}
        pageSize={PAGE_SIZE}
        shown={data.items.length}
        labels={['Newer', 'Older']}
      />
    </>
  );
}

export function DeadLettersPage(props: { query: URLSearchParams }) {
  const asked = props.query.get('status');
  const status = STATUSES.find((s) => s === asked) ?? 'open';
  return (
    <section>
      <h1>Dead letters</h1>
      <div class="filters tabs">
        {STATUSES.map((s) => (
          <button
            key={s}
            type="button"
            class={s === status ? 'active' : ''}
            onClick={() => setQuery({ status: s === 'open' ? undefined : s })}
          >
            {s}
          </button>
        ))}
      </div>
      <DeadLetterTable key={status} status={status} />
    </section>
  );
}
