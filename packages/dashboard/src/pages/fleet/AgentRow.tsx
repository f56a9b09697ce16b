// One agent in the fleet table: state, labels, slots, CPU and memory now, the last hour of
// CPU, the runs it holds, and the operator's buttons that apply to its state.
import { post } from '../../api/http.js';
import type { Agent } from '../../api/types.js';
import { ActionButton } from '../../components/ActionButton.js';
import { StateBadge } from '../../components/StateBadge.js';
import { ago, bytes, when } from '../../lib/format.js';
import { AgentSparkline } from './AgentSparkline.js';

function Meter(props: { used: number; total: number; label: string }) {
  const share = props.total > 0 ? Math.min(1, Math.max(0, props.used / props.total)) : 0;
  return (
    <div class="meter" title={props.label}>
      <div class={`meter-fill${share > 0.9 ? ' meter-hot' : ''}`} style={{ width: `${(share * 100).toFixed(0)}%` }} />
      <span class="meter-text">{props.label}</span>
    </div>
  );
}

export function AgentRow(props: { agent: Agent; onChanged: () => void }) {
  const a = props.agent;
  // Each run holds one slot: the bar and the runs column both count the runs the agent holds
  // (offered or running), read together. The agent's own free count lags by a heartbeat.
  const slotsUsed = a.runningRuns;
  const memTotal = typeof a.attributes['memory.bytes'] === 'number' ? a.attributes['memory.bytes'] : a.total.memoryBytes;
  const live = a.state !== 'down' && a.state !== 'left' && a.state !== 'gone';
  // null until the agent's first heartbeat.
  const cpuPercent = a.usage?.cpuPercent;
  const memUsed = a.usage?.memoryUsedBytes;
  const act = (action: 'drain' | 'cordon' | 'uncordon') => () => post(`/v1/agents/{id}/${action}`, { path: { id: a.id } });
  return (
    <tr data-agent={a.name}>
      <td>
        <div class="strong">{a.name}</div>
        <div class="muted mono small" title={`version ${a.version}`}>
          {a.id}
        </div>
      </td>
      <td>
        <StateBadge state={a.state} title={`last heartbeat ${when(a.lastHeartbeatAt)}`} />
        {a.drainDeadline && <div class="muted small">re-queues {ago(a.drainDeadline)}</div>}
        {!live && <div class="muted small">heard {ago(a.lastHeartbeatAt)}</div>}
      </td>
      <td>
        <div class="chips">
          {Object.entries(a.labels).map(([k, v]) => (
            <span key={k} class="chip">
              {k}={v}
            </span>
          ))}
        </div>
      </td>
      <td>
        <span data-slots-used={slotsUsed}>
          <Meter used={slotsUsed} total={a.total.slots} label={`${slotsUsed} / ${a.total.slots}`} />
        </span>
      </td>
      <td class="num">{live && cpuPercent !== undefined ? `${cpuPercent.toFixed(0)}%` : '–'}</td>
      <td>
        {live && memUsed !== undefined ? <Meter used={memUsed} total={memTotal} label={`${bytes(memUsed)} / ${bytes(memTotal)}`} /> : '–'}
      </td>
      <td>
        <AgentSparkline agentId={a.id} />
      </td>
      <td class="num">{a.runningRuns}</td>
      <td class="actions">
        {(a.state === 'ready' || a.state === 'cordoned') && (
          <ActionButton
            needs="operate"
            action={act('drain')}
            onDone={props.onChanged}
            confirm={`Drain ${a.name}? It finishes its runs and takes nothing new.`}
          >
            Drain
          </ActionButton>
        )}
        {(a.state === 'ready' || a.state === 'draining') && (
          <ActionButton needs="operate" action={act('cordon')} onDone={props.onChanged}>
            Cordon
          </ActionButton>
        )}
        {(a.state === 'cordoned' || a.state === 'draining') && (
          <ActionButton needs="operate" action={act('uncordon')} onDone={props.onChanged}>
            Uncordon
          </ActionButton>
        )}
      </td>
    </tr>
  );
}
