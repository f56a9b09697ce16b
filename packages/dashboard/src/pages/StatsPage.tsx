// The scheduler's record over a time range: fires, late and skipped fires, how late they were
// (due → queued, due → started), and fires per bucket as a bar chart.
import { get } from '../api/http.js';
import type { LatencySummary, SchedulerStats } from '../api/types.js';
import { duration, when } from '../lib/format.js';
import { usePoll } from '../lib/poll.js';
import { setQuery } from '../lib/router.js';

const RANGES: Array<[string, 'minute' | 'hour' | 'day']> = [
  ['1h', 'minute'],
  ['6h', 'minute'],
  ['24h', 'hour'],
  ['7d', 'day'],
];

function Latency(props: { title: string; l: LatencySummary }) {
  return (
    <tr>
      <th>{props.title}</th>
      <td class="num">{duration(props.l.p50Ms)}</td>
      <td class="num">{duration(props.l.p90Ms)}</td>
      <td class="num">{duration(props.l.p99Ms)}</td>
      <td class="num">{duration(props.l.maxMs)}</td>
    </tr>
  );
}

const BUCKET_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

/** Fires per bucket over the whole range, empty buckets included, with the range's ends below. */
function Bars(props: { stats: SchedulerStats; bucket: keyof typeof BUCKET_MS }) {
  const { series, since, until } = props.stats;
  if (series.length === 0) return <p class="muted">No fire in this range.</p>;
  const size = BUCKET_MS[props.bucket];
  // Buckets start on the bucket's boundary (UTC), as the server truncates them.
  const first = Math.floor(Date.parse(since) / size) * size;
  const slots = Math.max(1, Math.ceil((Date.parse(until) - first) / size));
  const width = 900;
  const height = 140;
  const max = Math.max(1, ...series.map((b) => b.fires + b.skipped));
  const w = width / slots;
  const h = (n: number) => (n / max) * (height - 4);
  return (
    <>
      <svg class="bars" viewBox={`0 0 ${width} ${height}`} preserveAspectRatio="none" role="img" aria-label="fires per bucket">
        {series.map((b) => {
          const i = Math.min(slots - 1, Math.max(0, Math.floor((Date.parse(b.at) - first) / size)));
          const on = h(b.fires - b.late);
          const late = h(b.late);
          const skipped = h(b.skipped);
          const x = i * w + w * 0.1;
          const bw = Math.max(1, w * 0.8);
          return (
            <g key={b.at}>
              <title>{`${when(b.at)}: ${b.fires} fires, ${b.late} late, ${b.skipped} skipped`}</title>
              <rect class="bar-ok" x={x} width={bw} y={height - on} height={on} />
              <rect class="bar-late" x={x} width={bw} y={height - on - late} height={late} />
              <rect class="bar-skipped" x={x} width={bw} y={height - on - late - skipped} height={skipped} />
            </g>
          );
        })}
      </svg>
      <div class="axis small muted">
        <span>{when(new Date(first).toISOString())}</span>
        <span>highest bar: {max.toLocaleString()}</span>
        <span>{when(new Date(until).toISOString())}</span>
      </div>
    </>
  );
}

export function StatsPage(props: { query: URLSearchParams }) {
  const since = props.query.get('since') ?? '1h';
  const bucket = RANGES.find(([r]) => r === since)?.[1] ?? 'minute';
  const { data, error } = usePoll(() => get('/v1/scheduler/stats', { query: { since, bucket } }), [since, bucket]);
  return (
    <section>
      <h1>Scheduler</h1>
      <div class="filters tabs">
        {RANGES.map(([r]) => (
          <button key={r} type="button" class={r === since ? 'active' : ''} onClick={() => setQuery({ since: r === '1h' ? undefined : r })}>
            last {r}
          </button>
        ))}
      </div>
      {error && <p class="error">{error.message}</p>}
      {!data && !error && <p class="muted">Loading statistics…</p>}
      {data && (
        <>
          <div class="tiles">
            <div class="tile">
              <div class="tile-value">{data.fires.toLocaleString()}</div>
              <div class="tile-label">fires</div>
            </div>
            <div class="tile">
              <div class={`tile-value${data.late > 0 ? ' warn' : ''}`}>{data.late.toLocaleString()}</div>
              <div class="tile-label">late (queued &gt; 1 s after due)</div>
            </div>
            <div class="tile">
              <div class="tile-value">{data.skipped.toLocaleString()}</div>
              <div class="tile-label">skipped</div>
            </div>
            <div class="tile">
              <div class="tile-value">{data.waiting.toLocaleString()}</div>
              <div class="tile-label">waiting to start</div>
            </div>
          </div>
          <div class="panel">
            <h2>Fires per {bucket}</h2>
            <Bars stats={data} bucket={bucket} />
            <div class="legend small">
              <span class="key bar-ok" /> on time <span class="key bar-late" /> late <span class="key bar-skipped" /> skipped
            </div>
          </div>
          <div class="panel">
            <h2>Lateness</h2>
            <table class="grid compact narrow">
              <thead>
                <tr>
                  <th />
                  <th class="num">p50</th>
                  <th class="num">p90</th>
                  <th class="num">p99</th>
                  <th class="num">max</th>
                </tr>
              </thead>
              <tbody>
                <Latency title="due → queued" l={data.dueToQueued} />
                <Latency title="due → started" l={data.dueToStarted} />
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
