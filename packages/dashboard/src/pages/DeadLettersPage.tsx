// Dead letters: runs that ended without success after their last allowed attempt. Replay gives
// one more attempt; dismiss takes the entry off the open list. Several open entries can be
// selected and replayed or dismissed at once (each by its own call, each result shown).
import { useState } from 'preact/hooks';
import { describeError, get, post } from '../api/http.js';
import { refusal, useWhoami } from '../api/whoami.js';
import { ActionButton } from '../components/ActionButton.js';
import { Link } from '../components/Link.js';
import { Pager, useCursors } from '../components/Pager.js';
import { StateBadge } from '../components/StateBadge.js';
import { ago, shortId, when } from '../lib/format.js';
import { usePoll } from '../lib/poll.js';
import { setQuery } from '../lib/router.js';

const PAGE_SIZE = 50;
const STATUSES = ['open', 'replayed', 'dismissed', 'all'] as const;
type Status = (typeof STATUSES)[number];

type Bulk = 'replay' | 'dismiss';

/** Replays or dismisses the selected entries, one call each; says how many were done and why any was refused. */
function BulkActions(props: { selected: string[]; onDone: () => void }) {
  const cannot = refusal(useWhoami(), 'operate');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ done: number; failed: string[]; verb: string } | undefined>(undefined);
  const run = async (op: Bulk) => {
    const verb = op === 'replay' ? 'replayed' : 'dismissed';
    if (!window.confirm(`${op === 'replay' ? 'Replay' : 'Dismiss'} ${props.selected.length} dead letters?`)) return;
    setBusy(true);
    const path = op === 'replay' ? '/v1/dead-letters/{runId}/replay' : '/v1/dead-letters/{runId}/dismiss';
    const outcomes = await Promise.allSettled(props.selected.map((runId) => post(path, { path: { runId } })));
    const failed = outcomes.flatMap((o, i) =>
      o.status === 'rejected' ? [`${shortId(props.selected[i] ?? '')}: ${describeError(o.reason)}`] : [],
    );
    setResult({ done: outcomes.length - failed.length, failed, verb });
    setBusy(false);
    props.onDone();
  };
  const n = props.selected.length;
  return (
    <div class="filters bulk-actions">
      <button
        type="button"
        class="primary"
        disabled={busy || n === 0 || cannot !== undefined}
        title={cannot}
        onClick={() => void run('replay')}
      >
        Replay selected ({n})
      </button>
      <button type="button" disabled={busy || n === 0 || cannot !== undefined} title={cannot} onClick={() => void run('dismiss')}>
        Dismiss selected ({n})
      </button>
      {result && (
        <span class="small" role="status" data-bulk-result={result.done}>
          {result.done} {result.verb}
          {result.failed.length > 0 && (
            <span class="action-error" title={result.failed.join('\n')}>
              {' '}
              · {result.failed.length} refused: {result.failed[0]}
            </span>
          )}
        </span>
      )}
    </div>
  );
}

function DeadLetterTable(props: { status: Status }) {
  const cursors = useCursors();
  const { data, error, refresh } = usePoll(
    () => get('/v1/dead-letters', { query: { status: props.status, limit: PAGE_SIZE, cursor: cursors.cursor } }),
    [props.status, cursors.cursor],
  );
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  if (error) return <p class="error">{error.message}</p>;
  if (!data) return <p class="muted">Loading dead letters…</p>;
  // Only open entries shown on this page can be selected; one that left the page is dropped.
  const open = data.items.filter((d) => !d.resolution).map((d) => d.runId);
  const chosen = open.filter((id) => selected.has(id));
  const toggle = (id: string, on: boolean) => {
    const next = new Set(chosen);
    if (on) next.add(id);
    else next.delete(id);
    setSelected(next);
  };
  return (
    <>
      {open.length > 0 && (
        <BulkActions
          selected={chosen}
          onDone={() => {
            setSelected(new Set());
            refresh();
          }}
        />
      )}
      <table class="grid">
        <thead>
          <tr>
            <th class="select">
              {open.length > 0 && (
                <input
                  type="checkbox"
                  aria-label="select every open dead letter on this page"
                  checked={chosen.length === open.length}
                  onChange={(e) => setSelected(new Set(e.currentTarget.checked ? open : []))}
                />
              )}
            </th>
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
              <td class="select">
                {!d.resolution && (
                  <input
                    type="checkbox"
                    aria-label={`select dead letter ${d.runId}`}
                    checked={selected.has(d.runId)}
                    onChange={(e) => toggle(d.runId, e.currentTarget.checked)}
                  />
                )}
              </td>
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
              <td title={when(d.createdAt)}>{ago(d.createdAt)}</td>
              <td class="actions">
                {d.resolution ? (
                  <span class="muted small" title={when(d.resolvedAt)}>
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
