// A run or agent state as a coloured pill: green for good, amber for waiting, red for bad.

const TONE: Record<string, string> = {
  succeeded: 'good',
  ready: 'good',
  running: 'busy',
  offered: 'busy',
  queued: 'wait',
  pending: 'wait',
  retrying: 'wait',
  draining: 'wait',
  cordoned: 'wait',
  paused: 'wait',
  skipped: 'muted',
  cancelled: 'muted',
  gone: 'muted',
  left: 'muted',
  replayed: 'muted',
  dismissed: 'muted',
  failed: 'bad',
  timed_out: 'bad',
  lost: 'bad',
  expired: 'bad',
  down: 'bad',
  open: 'bad',
};

export function StateBadge(props: { state: string; title?: string }) {
  return (
    <span class={`badge badge-${TONE[props.state] ?? 'muted'}`} title={props.title} data-state={props.state}>
      {props.state.replace('_', ' ')}
    </span>
  );
}
