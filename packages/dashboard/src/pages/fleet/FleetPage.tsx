// The fleet: capacity at a glance, then every agent a page at a time, filtered by label and
// state on the server (a fleet of thousands is never fetched whole).
import { get } from '../../api/http.js';
import { Pager, useCursors } from '../../components/Pager.js';
import { QueryInput } from '../../components/QueryInput.js';
import { usePoll } from '../../lib/poll.js';
import { setQuery } from '../../lib/router.js';
import { AgentRow } from './AgentRow.js';

const PAGE_SIZE = 50;
const STATES = ['ready', 'draining', 'cordoned', 'down', 'left', 'gone'];

function Summary() {
  const { data } = usePoll(() => get('/v1/fleet'), []);
  if (!data) return <div class="tiles" />;
  const { byState } = data.agents;
  const { total, free } = data.capacity;
  return (
    <div class="tiles">
      <div class="tile">
        <div class="tile-value">{data.agents.total.toLocaleString()}</div>
        <div class="tile-label">agents</div>
        <div class="muted small">
          {STATES.filter((s) => byState[s])
            .map((s) => `${byState[s]} ${s}`)
            .join(' · ') || 'none registered'}
        </div>
      </div>
      {/* Free capacity counts ready agents only: draining and cordoned ones take nothing new. */}
      <div class="tile">
        <div class="tile-value">
          {free.slots.toLocaleString()} <span class="muted">/ {total.slots.toLocaleString()}</span>
        </div>
        <div class="tile-label">slots free</div>
      </div>
      <div class="tile">
        <div class="tile-value">
          {(+free.cpu.toFixed(1)).toLocaleString()} <span class="muted">/ {(+total.cpu.toFixed(1)).toLocaleString()}</span>
        </div>
        <div class="tile-label">CPUs free</div>
      </div>
    </div>
  );
}

function AgentTable(props: { label: string; state: string }) {
  const cursors = useCursors();
  const { data, error, refresh } = usePoll(
    () => get('/v1/agents', { query: { label: props.label, state: props.state, limit: PAGE_SIZE, cursor: cursors.cursor } }),
    [props.label, props.state, cursors.cursor],
  );
  if (error) return <p class="error">{error.message}</p>;
  if (!data) return <p class="muted">Loading agents…</p>;
  return (
    <>
      <table class="grid">
        <thead>
          <tr>
            <th>Agent</th>
            <th>State</th>
            <th>Labels</th>
            <th>Slots</th>
            <th class="num">CPU</th>
            <th>Memory</th>
            <th>CPU, last hour</th>
            <th class="num">Runs</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {data.items.map((a) => (
            <AgentRow key={a.id} agent={a} onChanged={refresh} />
          ))}
        </tbody>
      </table>
      {data.items.length === 0 && (
        <p class="empty">
          {props.label || props.state ? 'No agent matches these filters.' : 'No agent has registered yet: start one with "drover agent".'}
        </p>
      )}
      <Pager cursors={cursors} nextCursor={data.nextCursor} total={data.total} pageSize={PAGE_SIZE} shown={data.items.length} />
    </>
  );
}

export function FleetPage(props: { query: URLSearchParams }) {
  const label = props.query.get('label') ?? '';
  const state = props.query.get('state') ?? '';
  return (
    <section>
      <h1>Fleet</h1>
      <Summary />
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <QueryInput param="label" value={label} label="Labels" placeholder="region=eu,pool=gpu" />
        <label>
          State
          <select name="state" value={state} onChange={(e) => setQuery({ state: e.currentTarget.value })}>
            <option value="">any</option>
            {STATES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
      </form>
      <AgentTable key={`${label}|${state}`} label={label} state={state} />
    </section>
  );
}
