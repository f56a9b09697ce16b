// A small line chart of recent values (an agent's CPU over the last hour), drawn as SVG.

export function Sparkline(props: { values: readonly number[]; max?: number; width?: number; height?: number; title?: string }) {
  const { width = 120, height = 24 } = props;
  if (props.values.length === 0) return <span class="muted small">no history yet</span>;
  // One minute of history is a level line, not nothing.
  const values = props.values.length === 1 ? [props.values[0] ?? 0, props.values[0] ?? 0] : props.values;
  const max = props.max ?? Math.max(...values, 1);
  const step = width / (values.length - 1);
  const y = (v: number) => (height - 2 - (Math.min(v, max) / max) * (height - 4)).toFixed(1);
  const line = values.map((v, i) => `${(i * step).toFixed(1)},${y(v)}`).join(' ');
  return (
    <svg class="spark" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={props.title}>
      <title>{props.title}</title>
      <polygon class="spark-fill" points={`0,${height} ${line} ${width},${height}`} />
      <polyline class="spark-line" points={line} />
    </svg>
  );
}
