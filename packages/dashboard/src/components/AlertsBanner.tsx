// Fleet health on every page: agents down, runs lost with their agent in the last hour, and
// queued runs no agent can take. Nothing is shown while all is well.
import { ApiError, describeError, get } from '../api/http.js';
import { ago } from '../lib/format.js';
import { usePoll } from '../lib/poll.js';
import { Link } from './Link.js';

const MAX_LISTED = 3;

export function AlertsBanner() {
  const { data, error } = usePoll(() => get('/v1/alerts'), []);
  if (error instanceof ApiError && error.status === 0)
    return <div class="banner banner-bad">The coordinator is not answering: {error.message}</div>;
  if (error) return <div class="banner banner-bad">Fleet health alerts are unavailable: {describeError(error)}</div>;
  if (!data) return null;
  const { agentsDown, runsLost, unplaceable } = data;
  if (agentsDown.length === 0 && runsLost.count === 0 && unplaceable.length === 0) return null;
  const stuck = unplaceable.reduce((n, u) => n + u.queued, 0);
  return (
    <div class="banner" role="status" aria-label="Fleet health alerts">
      {agentsDown.length > 0 && (
        <div class="alert" data-alert="agents-down">
          <strong>
            {agentsDown.length} agent{agentsDown.length === 1 ? '' : 's'} down:
          </strong>{' '}
          {agentsDown.slice(0, MAX_LISTED).map((a, i) => (
            <span key={a.id}>
              {i > 0 && ', '}
              <Link to={`/fleet?state=down`} title={`agent ${a.id}`}>
                {a.name}
              </Link>{' '}
              <span class="muted">(last heard {ago(a.lastHeartbeatAt)})</span>
            </span>
          ))}
          {agentsDown.length > MAX_LISTED && <span class="muted"> and {agentsDown.length - MAX_LISTED} more</span>}
        </div>
      )}
      {runsLost.count > 0 && (
        <div class="alert" data-alert="runs-lost">
          <strong>
            {runsLost.count} run attempt{runsLost.count === 1 ? '' : 's'} lost
          </strong>{' '}
          with their agent in the last hour
          {runsLost.recent[0] && (
            <>
              {', latest '}
              <Link to={`/runs/${runsLost.recent[0].runId}`}>{runsLost.recent[0].jobName ?? runsLost.recent[0].jobId}</Link>{' '}
              <span class="muted">{ago(runsLost.recent[0].at)}</span>
            </>
          )}
        </div>
      )}
      {unplaceable.length > 0 && (
        <div class="alert" data-alert="unplaceable">
          <strong>
            {stuck} queued run{stuck === 1 ? '' : 's'} no agent can take:
          </strong>{' '}
          {unplaceable.slice(0, MAX_LISTED).map((u, i) => (
            <span key={`${u.jobId} ${u.reason}`}>
              {i > 0 && '; '}
              <Link to={`/runs?job=${u.jobId}&state=queued`}>{u.jobName ?? u.jobId}</Link> ({u.queued}) — {u.reason}
            </span>
          ))}
          {unplaceable.length > MAX_LISTED && <span class="muted"> and {unplaceable.length - MAX_LISTED} more jobs</span>}
        </div>
      )}
    </div>
  );
}
