/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4), for tests of
 * /metrics endpoints. It throws on anything a Prometheus server would reject and on what the
 * format forbids even where servers are lenient:
 * - `# HELP name text` / `# TYPE name type`: at most one of each per family, TYPE before the
 *   family's first sample, escapes in HELP only `\\` and `\n`;
 * - metric and label names by the format's grammar; no `__` label names (reserved); no label
 *   twice in one sample; label values quoted, with only `\\`, `\"` and `\n` escapes;
 * - values are floats as Go's ParseFloat reads them (`+Inf`, `-Inf`, `NaN` in any case, but no
 *   hex), an optional integer timestamp after them;
 * - every sample belongs to a family declared with TYPE (`_bucket`/`_sum`/`_count` for
 *   histograms, `_sum`/`_count` for summaries), a family's lines are contiguous, and no
 *   series (name and labels) appears twice;
 * - counters are never negative; each histogram series has `le` buckets in ascending order
 *   with non-decreasing cumulative counts, a `+Inf` bucket equal to its `_count`, and a `_sum`;
 * - the text ends with a line feed.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  /** The sample's own name (`x_bucket`, `x_sum`… for histograms). */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly timestamp?: number;
}

export interface MetricFamily {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string | undefined;
  readonly samples: Sample[];
}

/** The families of one exposition, by name, in the order they appeared. */
export type Exposition = Map<string, MetricFamily>;

/** What is wrong with an exposition, and on which line (1-based; 0 when it concerns the whole text). */
export class PrometheusFormatError extends Error {
  override name = 'PrometheusFormatError';
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(line > 0 ? `line ${line}: ${message}` : message);
  }
}

const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
// Go's strconv.ParseFloat, which Prometheus uses: decimal floats, and case-insensitive `inf` or
// `infinity` (signed or not) and `nan` (unsigned; prom-client writes `Nan`). Hex floats, which
// ParseFloat also takes, are refused: no exporter writes them.
const FLOAT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const INF = /^([+-]?)(?:inf|infinity)$/i;
const NAN = /^nan$/i;
const TIMESTAMP = /^-?\d+$/;

function parseFloatStrict(text: string, line: number, what: string): number {
  const inf = INF.exec(text);
  if (inf) return inf[1] === '-' ? -Infinity : Infinity;
  if (NAN.test(text)) return NaN;
  if (!FLOAT.test(text)) throw new PrometheusFormatError(line, `${what} "${text}" is not a number`);
  return Number(text);
}

function unescapeHelp(text: string, line: number): string {
  return text.replace(/\\(.?)/g, (_, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    throw new PrometheusFormatError(line, `HELP text has an invalid escape "\\${c}"`);
  });
}

/** Reads `{a="x",b="y"}` starting at `s[i] === '{'`; returns the labels and the index after `}`. */
function parseLabels(s: string, start: number, line: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = start + 1;
  for (;;) {
    if (s[i] === '}') return { labels, end: i + 1 };
    const nameMatch = /^[^=]*/.exec(s.slice(i)) as RegExpExecArray;
    const name = nameMatch[0];
    if (!LABEL_NAME.test(name)) throw new PrometheusFormatError(line, `invalid label name "${name}"`);
    if (name.startsWith('__')) throw new PrometheusFormatError(line, `label name "${name}" is reserved (starts with __)`);
    if (name in labels) throw new PrometheusFormatError(line, `label "${name}" appears twice`);
    i += name.length;
    if (s[i] !== '=' || s[i + 1] !== '"') throw new PrometheusFormatError(line, `label ${name} needs ="value"`);
    i += 2;
    let value = '';
    for (;;) {
      const c = s[i];
      if (c === undefined) throw new PrometheusFormatError(line, `label ${name} has an unterminated value`);
      if (c === '"') break;
      if (c === '\\') {
        const e = s[i + 1];
        if (e === '\\') value += '\\';
        else if (e === '"') value += '"';
        else if (e === 'n') value += '\n';
        else throw new PrometheusFormatError(line, `label ${name} has an invalid escape "\\${e ?? ''}"`);
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    labels[name] = value;
    i++; // the closing quote
    if (s[i] === ',') i++;
    else if (s[i] !== '}') throw new PrometheusFormatError(line, `expected "," or "}" after label ${name}`);
  }
}

/** Which declared family a sample name belongs to, given the families declared so far. */
function familyOf(name: string, families: Exposition): MetricFamily | undefined {
  const exact = families.get(name);
  if (exact && exact.type !== 'histogram') return exact;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const f = families.get(name.slice(0, -suffix.length));
    if (f?.type === 'histogram') return f;
    if (f?.type === 'summary' && suffix !== '_bucket') return f;
  }
  return undefined;
}

const seriesKey = (name: string, labels: Readonly<Record<string, string>>): string =>
  `${name}{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(',')}}`;

/** Parses and checks an exposition; throws PrometheusFormatError naming the first problem. */
export function parsePrometheus(text: string): Exposition {
  if (text.length > 0 && !text.endsWith('\n')) throw new PrometheusFormatError(0, 'the last line does not end with a line feed');
  const families: Exposition = new Map(); // only families declared with TYPE
  const helps = new Map<string, string>();
  const seenSeries = new Set<string>();
  const closed = new Set<string>(); // families whose lines ended (another family's line came)
  let current: string | undefined;
  const enter = (family: string, line: number) => {
    if (family === current) return;
    if (closed.has(family)) throw new PrometheusFormatError(line, `lines of ${family} are not contiguous`);
    if (current !== undefined) closed.add(current);
    current = family;
  };
  const lines = text.split('\n');
  lines.pop(); // after the final line feed
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    if (raw.startsWith('#')) {
      const m = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t](.*))?$/.exec(raw);
      if (!m) return; // any other comment
      const kind = m[1] as 'HELP' | 'TYPE';
      const name = m[2] as string;
      const rest = m[3] ?? '';
      if (!METRIC_NAME.test(name)) throw new PrometheusFormatError(line, `invalid metric name "${name}"`);
      enter(name, line);
      if (kind === 'HELP') {
        if (helps.has(name)) throw new PrometheusFormatError(line, `second HELP for ${name}`);
        const help = unescapeHelp(rest, line);
        helps.set(name, help);
        const f = families.get(name);
        if (f) families.set(name, { ...f, help });
        return;
      }
      const type = rest.trim() as MetricType;
      if (!TYPES.has(type)) throw new PrometheusFormatError(line, `unknown type "${rest}" for ${name}`);
      if (families.has(name)) throw new PrometheusFormatError(line, `second TYPE for ${name}`);
      families.set(name, { name, type, help: helps.get(name), samples: [] });
      return;
    }
    const name = (/^[^\s{]*/.exec(raw) as RegExpExecArray)[0];
    if (!METRIC_NAME.test(name)) throw new PrometheusFormatError(line, `invalid metric name "${name}"`);
    let i = name.length;
    let labels: Record<string, string> = {};
    if (raw[i] === '{') ({ labels, end: i } = parseLabels(raw, i, line));
    const rest = raw.slice(i);
    const fields = rest.trim().split(/[ \t]+/);
    if (!/^[ \t]/.test(rest) || fields.length > 2 || fields[0] === '')
      throw new PrometheusFormatError(line, `expected "${name}[{labels}] value [timestamp]"`);
    const value = parseFloatStrict(fields[0] as string, line, 'value');
    let timestamp: number | undefined;
    if (fields.length === 2) {
      if (!TIMESTAMP.test(fields[1] as string)) throw new PrometheusFormatError(line, `timestamp "${fields[1]}" is not an integer`);
      timestamp = Number(fields[1]);
    }
    const family = familyOf(name, families);
    if (!family) throw new PrometheusFormatError(line, `sample ${name} belongs to no family declared with TYPE`);
    enter(family.name, line);
    const key = seriesKey(name, labels);
    if (seenSeries.has(key)) throw new PrometheusFormatError(line, `series ${key} appears twice`);
    seenSeries.add(key);
    if (family.type === 'counter' && !(value >= 0))
      throw new PrometheusFormatError(line, `counter ${name} is ${fields[0]}: counters are never negative`);
    family.samples.push(timestamp === undefined ? { name, labels, value } : { name, labels, value, timestamp });
  });
  for (const f of families.values()) {
    if (f.type === 'histogram') checkHistogram(f);
    if (f.type === 'summary') checkSummary(f);
  }
  return families;
}

function withoutLabel(labels: Readonly<Record<string, string>>, name: string): Record<string, string> {
  const { [name]: _drop, ...rest } = labels;
  return rest;
}

function checkHistogram(f: MetricFamily): void {
  const series = new Map<string, { buckets: Array<{ le: number; count: number }>; sum?: number; count?: number }>();
  const of = (labels: Readonly<Record<string, string>>) => {
    const k = seriesKey(f.name, labels);
    let s = series.get(k);
    if (!s) series.set(k, (s = { buckets: [] }));
    return s;
  };
  for (const s of f.samples) {
    if (s.name === `${f.name}_bucket`) {
      const le = s.labels.le;
      if (le === undefined) throw new PrometheusFormatError(0, `${s.name} has no le label`);
      of(withoutLabel(s.labels, 'le')).buckets.push({ le: parseFloatStrict(le, 0, `${s.name} le`), count: s.value });
    } else if (s.name === `${f.name}_sum` || s.name === `${f.name}_count`) {
      if ('le' in s.labels) throw new PrometheusFormatError(0, `${s.name} must not carry an le label`);
      const entry = of(s.labels);
      if (s.name.endsWith('_sum')) entry.sum = s.value;
      else entry.count = s.value;
    } else throw new PrometheusFormatError(0, `histogram ${f.name} has a plain sample ${s.name}`);
  }
  for (const [key, s] of series) {
    if (s.count === undefined || s.sum === undefined) throw new PrometheusFormatError(0, `histogram series ${key} lacks _sum or _count`);
    if (!Number.isInteger(s.count) || s.count < 0) throw new PrometheusFormatError(0, `histogram series ${key} has _count ${s.count}`);
    const inf = s.buckets[s.buckets.length - 1];
    if (!inf || inf.le !== Infinity) throw new PrometheusFormatError(0, `histogram series ${key} does not end with an le="+Inf" bucket`);
    for (let i = 1; i < s.buckets.length; i++) {
      const [a, b] = [s.buckets[i - 1], s.buckets[i]] as [{ le: number; count: number }, { le: number; count: number }];
      if (!(b.le > a.le))
        throw new PrometheusFormatError(0, `histogram series ${key}: le ${b.le} does not follow ${a.le} in ascending order`);
      if (b.count < a.count)
        throw new PrometheusFormatError(0, `histogram series ${key}: bucket le=${b.le} counts fewer than le=${a.le} (not cumulative)`);
    }
    if (inf.count !== s.count)
      throw new PrometheusFormatError(0, `histogram series ${key}: the +Inf bucket (${inf.count}) differs from _count (${s.count})`);
  }
}

function checkSummary(f: MetricFamily): void {
  const counts = new Set<string>();
  const sums = new Set<string>();
  for (const s of f.samples) {
    if (s.name === f.name) {
      const q = s.labels.quantile;
      if (q === undefined) throw new PrometheusFormatError(0, `summary ${f.name} sample without a quantile label`);
      const v = parseFloatStrict(q, 0, 'quantile');
      if (!(v >= 0 && v <= 1)) throw new PrometheusFormatError(0, `summary ${f.name} quantile ${q} is outside 0..1`);
    } else if (s.name.endsWith('_count')) counts.add(seriesKey(f.name, s.labels));
    else sums.add(seriesKey(f.name, s.labels));
  }
  for (const k of counts) if (!sums.has(k)) throw new PrometheusFormatError(0, `summary series ${k} has _count but no _sum`);
  for (const k of sums) if (!counts.has(k)) throw new PrometheusFormatError(0, `summary series ${k} has _sum but no _count`);
}

const matches = (labels: Readonly<Record<string, string>>, want: Record<string, string>): boolean =>
  Object.entries(want).every(([k, v]) => labels[k] === v);

/** The sum of the samples named `name` whose labels include `labels` (0 when there are none). */
export function sumOf(expo: Exposition, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const f of expo.values()) for (const s of f.samples) if (s.name === name && matches(s.labels, labels)) total += s.value;
  return total;
}

/** The one sample named `name` with exactly these labels, or undefined. */
export function sampleOf(expo: Exposition, name: string, labels: Record<string, string> = {}): Sample | undefined {
  const key = seriesKey(name, labels);
  for (const f of expo.values()) for (const s of f.samples) if (s.name === name && seriesKey(s.name, s.labels) === key) return s;
  return undefined;
}
