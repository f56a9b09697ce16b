// The strict Prometheus exposition reader of test/support/prometheus.ts: it accepts what
// prom-client writes, and rejects each kind of malformed text it is meant to catch (a checker
// that accepts everything would make the /metrics tests pass whatever the endpoint prints).
import { describe, expect, it } from 'vitest';
import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
import { parsePrometheus, PrometheusFormatError, sampleOf, sumOf } from './support/prometheus.js';

const VALID = `# HELP jobs_total Jobs done, with a \\\\ backslash and a \\n newline.
# TYPE jobs_total counter
jobs_total{state="ok"} 3
jobs_total{state="a \\"quoted\\" \\\\ value\\nwith a line"} 1 1700000000000
# some other comment
# TYPE temperature gauge
temperature -4.5e1

# TYPE latency_seconds histogram
latency_seconds_bucket{route="/x",le="0.1"} 1
latency_seconds_bucket{route="/x",le="1"} 2
latency_seconds_bucket{route="/x",le="+Inf"} 3
latency_seconds_sum{route="/x"} 12.5
latency_seconds_count{route="/x"} 3
# TYPE odd untyped
odd NaN
odd{x="+Inf"} +Inf
odd{x="Nan"} Nan
odd{x="-inf"} -infinity
`;

const HISTOGRAM = (buckets: string, sum = 'h_sum 1', count = 'h_count 3') => `# TYPE h histogram\n${buckets}\n${sum}\n${count}\n`;

describe('parsePrometheus', () => {
  it('reads a valid exposition: families, types, help, labels with escapes, values and timestamps', () => {
    const expo = parsePrometheus(VALID);
    expect([...expo.keys()]).toEqual(['jobs_total', 'temperature', 'latency_seconds', 'odd']);
    expect(expo.get('jobs_total')?.help).toBe('Jobs done, with a \\ backslash and a \n newline.');
    expect(expo.get('latency_seconds')?.type).toBe('histogram');
    expect(sampleOf(expo, 'jobs_total', { state: 'a "quoted" \\ value\nwith a line' })).toEqual({
      name: 'jobs_total',
      labels: { state: 'a "quoted" \\ value\nwith a line' },
      value: 1,
      timestamp: 1700000000000,
    });
    expect(sampleOf(expo, 'temperature')?.value).toBe(-45);
    expect(sumOf(expo, 'jobs_total')).toBe(4);
    expect(sumOf(expo, 'latency_seconds_count', { route: '/x' })).toBe(3);
    expect(Number.isNaN(sampleOf(expo, 'odd')?.value)).toBe(true);
    expect(sampleOf(expo, 'odd', { x: '+Inf' })?.value).toBe(Infinity);
    expect(Number.isNaN(sampleOf(expo, 'odd', { x: 'Nan' })?.value)).toBe(true);
    expect(sampleOf(expo, 'odd', { x: '-inf' })?.value).toBe(-Infinity);
  });

  it('accepts what prom-client writes, tricky label values included', async () => {
    const registry = new Registry();
    const c = new Counter({ name: 'c_total', help: 'a "counter" with \\ and\nlines', labelNames: ['v'], registers: [registry] });
    c.inc({ v: 'back\\slash "quote"\nnewline' });
    c.inc({ v: '' }, 2);
    new Gauge({ name: 'g', help: 'g', registers: [registry] }).set(-1.5);
    const h = new Histogram({ name: 'h_seconds', help: 'h', labelNames: ['m'], buckets: [0.1, 1], registers: [registry] });
    h.observe({ m: 'GET' }, 0.05);
    h.observe({ m: 'GET' }, 5);
    const s = new Summary({ name: 's', help: 's', registers: [registry] });
    s.observe(1);
    const expo = parsePrometheus(await registry.metrics());
    expect(sampleOf(expo, 'c_total', { v: 'back\\slash "quote"\nnewline' })?.value).toBe(1);
    expect(sampleOf(expo, 'h_seconds_bucket', { m: 'GET', le: '1' })?.value).toBe(1);
    expect(sampleOf(expo, 'h_seconds_count', { m: 'GET' })?.value).toBe(2);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['no final line feed', '# TYPE a gauge\na 1', /line feed/],
    ['a sample without TYPE', 'a 1\n', /no family declared with TYPE/],
    ['a sample with HELP only', '# HELP a help\na 1\n', /no family declared with TYPE/],
    ['a sample of another family', '# TYPE a gauge\nb 1\n', /no family/],
    ['_count of a gauge', '# TYPE a gauge\na_count 1\n', /no family/],
    ['an unknown type', '# TYPE a meter\n', /unknown type/],
    ['two TYPE lines', '# TYPE a gauge\n# TYPE a gauge\n', /second TYPE/],
    ['two HELP lines', '# HELP a x\n# HELP a y\n', /second HELP/],
    ['TYPE after samples of another declaration', '# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\n# TYPE a gauge\n', /not contiguous/],
    ['a family split in two', '# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na{x="1"} 2\n', /not contiguous/],
    ['an invalid metric name', '# TYPE 1a gauge\n', /invalid metric name/],
    ['an invalid sample name', '# TYPE a gauge\na-b 1\n', /invalid metric name/],
    ['an invalid label name', '# TYPE a gauge\na{1x="v"} 1\n', /invalid label name/],
    ['a reserved label name', '# TYPE a gauge\na{__x="v"} 1\n', /reserved/],
    ['a label twice', '# TYPE a gauge\na{x="1",x="2"} 1\n', /appears twice/],
    ['an unquoted label value', '# TYPE a gauge\na{x=1} 1\n', /="value"/],
    ['a bad escape in a label value', '# TYPE a gauge\na{x="\\t"} 1\n', /invalid escape/],
    ['an unterminated label value', '# TYPE a gauge\na{x="v} 1\n', /unterminated|expected/],
    ['a missing comma between labels', '# TYPE a gauge\na{x="1" y="2"} 1\n', /expected "," or "}"/],
    ['a bad escape in HELP', '# HELP a tab\\t\n# TYPE a gauge\n', /invalid escape/],
    ['a non-numeric value', '# TYPE a gauge\na one\n', /not a number/],
    ['a value glued to the labels', '# TYPE a gauge\na{x="1"}1\n', /expected/],
    ['a signed NaN', '# TYPE a gauge\na +NaN\n', /not a number/],
    ['a truncated infinity', '# TYPE a gauge\na Infinit\n', /not a number/],
    ['a decimal comma', '# TYPE a gauge\na 1,5\n', /not a number/],
    ['a hex float', '# TYPE a gauge\na 0x1p-2\n', /not a number/],
    ['a fractional timestamp', '# TYPE a gauge\na 1 1.5\n', /timestamp/],
    ['extra fields', '# TYPE a gauge\na 1 2 3\n', /expected/],
    ['no value', '# TYPE a gauge\na\n', /expected/],
    ['a series twice', '# TYPE a gauge\na{x="1"} 1\na{x="1"} 2\n', /appears twice/],
    ['a negative counter', '# TYPE a_total counter\na_total -1\n', /never negative/],
    ['a NaN counter', '# TYPE a_total counter\na_total NaN\n', /never negative/],
    ['a histogram without +Inf', HISTOGRAM('h_bucket{le="1"} 3'), /\+Inf/],
    ['a histogram whose +Inf differs from _count', HISTOGRAM('h_bucket{le="1"} 2\nh_bucket{le="+Inf"} 2'), /differs from _count/],
    ['a histogram not cumulative', HISTOGRAM('h_bucket{le="0.5"} 3\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 3'), /not cumulative/],
    ['histogram buckets out of order', HISTOGRAM('h_bucket{le="1"} 1\nh_bucket{le="0.5"} 2\nh_bucket{le="+Inf"} 3'), /ascending/],
    ['a histogram bucket without le', HISTOGRAM('h_bucket 3\nh_bucket{le="+Inf"} 3'), /no le label/],
    ['a histogram bucket with a bad le', HISTOGRAM('h_bucket{le="x"} 3\nh_bucket{le="+Inf"} 3'), /not a number/],
    ['a histogram without _sum', HISTOGRAM('h_bucket{le="+Inf"} 3', ''), /lacks _sum/],
    ['a histogram without _count', HISTOGRAM('h_bucket{le="+Inf"} 3', 'h_sum 1', ''), /lacks _sum or _count/],
    ['a histogram with a fractional _count', HISTOGRAM('h_bucket{le="+Inf"} 2.5', 'h_sum 1', 'h_count 2.5'), /_count 2.5/],
    ['a plain sample in a histogram', '# TYPE h histogram\nh 1\n', /no family/],
    ['a summary without its quantile', '# TYPE s summary\ns 1\ns_sum 1\ns_count 1\n', /quantile/],
    ['a summary without _sum', '# TYPE s summary\ns{quantile="0.5"} 1\ns_count 1\n', /no _sum/],
  ];

  it.each(bad)('rejects %s', (_what, text, message) => {
    expect(() => parsePrometheus(text)).toThrow(PrometheusFormatError);
    expect(() => parsePrometheus(text)).toThrow(message);
  });

  it('names the line of the problem', () => {
    try {
      parsePrometheus('# TYPE a gauge\na 1\na 2\n');
      expect.unreachable('a duplicate series must be rejected');
    } catch (err) {
      expect((err as PrometheusFormatError).line).toBe(3);
    }
  });
});
