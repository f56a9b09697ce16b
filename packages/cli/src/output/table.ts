// Aligned plain-text tables for the client verbs: fixed columns, two spaces apart, no borders,
// so the output reads well in a terminal and still cuts cleanly with awk.
import { escapeControls } from './escape.js';

/** One column: a header and how to show a row's cell. */
export interface Column<T> {
  header: string;
  value: (row: T) => string | number | null | undefined;
  /** Cut cells longer than this (with "…"); long free text would wrap every row otherwise. */
  max?: number;
  /** Right-align (numbers). */
  right?: boolean;
  /**
   * Free text that matters whole (a reason, an error: the useful part is often at the end), for
   * the last column: never cut; at a terminal, wrapped at words to its width, each further line
   * indented under the column.
   */
  wrap?: boolean;
}

/** How to lay out a table: `width` is the terminal's (absent for a pipe or a file). */
export interface TableLayout {
  width?: number;
}

/** The narrowest a wrapped column gets, however little room the other columns leave. */
const MIN_WRAP = 24;

/** `text` in lines of at most `width` characters, broken at spaces where there are any. */
export function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let rest = text;
  while (rest.length > width) {
    const space = rest.lastIndexOf(' ', width);
    const at = space > 0 ? space : width;
    lines.push(rest.slice(0, at).trimEnd());
    rest = rest.slice(at).trimStart();
  }
  lines.push(rest);
  return lines;
}

const cut = (s: string, max: number | undefined) => (max !== undefined && s.length > max ? `${s.slice(0, Math.max(0, max - 1))}…` : s);

/** The rows as an aligned table with a header line; `empty` when there are no rows. */
export function formatTable<T>(
  rows: readonly T[],
  columns: readonly Column<T>[],
  empty = 'nothing to show',
  layout: TableLayout = {},
): string {
  if (rows.length === 0) return `${empty}\n`;
  // A newline in an error message would break the alignment, and any other control character
  // (a job name with an escape sequence) both that and the terminal: shown escaped instead.
  const cell = (v: unknown) => escapeControls(String(v ?? '-').replace(/[\r\n\t]+/g, ' ')) || '-';
  const cells = rows.map((r) => columns.map((c) => cut(cell(c.value(r)), c.max)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i]!.length)));
  const last = columns.length - 1;
  // Where the last column starts, and how wide it may be before it wraps.
  const indent = widths.slice(0, last).reduce((sum, w) => sum + w + 2, 0);
  const wrapAt = columns[last]?.wrap && layout.width !== undefined ? Math.max(MIN_WRAP, layout.width - indent) : undefined;
  const line = (values: readonly string[]) => {
    const head = values
      .slice(0, last)
      .map((v, i) => (columns[i]!.right ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ');
    const tail = values[last] ?? '';
    if (columns[last]?.right) return `${head}${last > 0 ? '  ' : ''}${tail.padStart(widths[last]!)}`;
    const pieces = wrapAt === undefined ? [tail] : wrapText(tail, wrapAt);
    return pieces.map((p, i) => `${i === 0 ? head : ' '.repeat(Math.max(0, indent - 2))}${last > 0 ? '  ' : ''}${p}`.trimEnd()).join('\n');
  };
  return `${[line(columns.map((c) => c.header)), ...cells.map(line)].join('\n')}\n`;
}

/** `key  value` lines with the keys aligned, skipping pairs whose value is absent. */
export function formatFields(fields: ReadonlyArray<readonly [string, string | number | null | undefined]>): string {
  const shown = fields.filter(([, v]) => v !== undefined && v !== null && v !== '');
  const width = Math.max(0, ...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${`${k}:`.padEnd(width + 1)}  ${escapeControls(String(v))}`).join('\n') + '\n';
}
