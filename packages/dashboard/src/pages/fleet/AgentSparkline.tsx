// The last hour of an agent's CPU, from its per-minute heartbeat history. Only rows on screen
// mount this, so a fleet of thousands costs one request per visible agent a minute.
import { get } from '../../api/http.js';
import { Sparkline } from '../../components/Sparkline.js';
import { usePoll } from '../../lib/poll.js';

// The history has one point a minute: polling it faster would redraw the same line.
const HISTORY_POLL_MS = 60_000;

export function AgentSparkline(props: { agentId: string }) {
  const { data } = usePoll(
    () => get('/v1/agents/{id}/metrics', { path: { id: props.agentId }, query: { since: '1h' } }),
    [props.agentId],
    HISTORY_POLL_MS,
  );
  const cpu = data?.points.map((p) => p.cpuPercent) ?? [];
  const title =
    cpu.length > 0 ? `CPU over the last hour: max ${Math.max(...cpu).toFixed(0)}%, ${cpu.length} minutes` : 'no CPU history yet';
  return <Sparkline values={cpu} max={100} title={title} />;
}
