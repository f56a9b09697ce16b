// An agent by its name (pages/runs/agent-names.ts), its id on hover, linking to the fleet.
import { Link } from './Link.js';

export function AgentName(props: { id: string | null | undefined; names: ReadonlyMap<string, string> }) {
  if (!props.id) return <span class="muted">–</span>;
  return (
    <Link to="/fleet" title={props.id}>
      <span data-agent-id={props.id}>{props.names.get(props.id) ?? props.id}</span>
    </Link>
  );
}
