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
}

const cut = (s: string, max: number | undefined) => (max !== undefined && s.length > max ? `${s.slice(0, Math.max(0, max - 1))}…` : s);

/** The rows as an aligned table with a header line; `empty` when there are no rows. */
export function formatTable<T>(rows: readonly T[], columns: readonly Column<T>[], empty = 'nothing to show'): string {
  if (rows.length === 0) return `${empty}\n`;
  // A newline in an error message would break the alignment, and any other control character
  // (a job name with an escape sequence) both that and the terminal: shown escaped instead.
  const cell = (v: unknown) => escapeControls(String(v ?? '-').replace(/[\r\n\t]+/g, ' ')) || '-';
  const cells = rows.map((r) => columns.map((c) => cut(cell(c.value(r)), c.max)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => {
        const last = i === values.length - 1;
        if (columns[i]!.right) return v.padStart(widths[i]!);
        return last ? v : v.padEnd(widths[i]!);
      })
      .join('  ')
      .trimEnd();
  return `${[line(columns.map((c) => c.header)), ...cells.map(line)].join('\n')}\n`;
}

/** `key  value` lines with the keys aligned, skipping pairs whose value is absent. */
export function formatFields(fields: ReadonlyArray<readonly [string, string | number | null | undefined]>): string {
  const shown = fields.filter(([, v]) => v !== undefined && v !== null && v !== '');
  const width = Math.max(0, ...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${`${k}:`.padEnd(width + 1)}  ${escapeControls(String(v))}`).join('\n') + '\n';
}
