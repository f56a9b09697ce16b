// Small Markdown helpers the generated references share, and the generated section of a page:
// the text between `<!-- name:start -->` and `<!-- name:end -->`, so prose around it stays
// hand-written while the reference itself is rewritten by `npm run docs`.
import { readFileSync, writeFileSync } from 'node:fs';

/**
 * Text for a table cell: `|` escaped (inside code spans too, as GFM tables require), newlines
 * joined, and `<`/`>` outside code spans written as entities so GitHub keeps `<token>`.
 */
export function cell(text: string): string {
  return text
    .split(/(`[^`]*`)/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/</g, '&lt;').replace(/>/g, '&gt;')))
    .join('')
    .replace(/\|/g, '\\|')
    .replace(/\s*\n\s*/g, ' ');
}

/** A Markdown table; an empty string when there are no rows. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return '';
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

const markers = (name: string) => [`<!-- ${name}:start -->`, `<!-- ${name}:end -->`] as const;

/** `page` with `body` between its `name` markers. */
export function withSection(page: string, name: string, body: string): string {
  const [start, end] = markers(name);
  const a = page.indexOf(start);
  const b = page.indexOf(end);
  if (a < 0 || b < a) throw new Error(`the page has no ${start} … ${end} section`);
  return `${page.slice(0, a + start.length)}\n${body.trimEnd()}\n${page.slice(b)}`;
}

/** Rewrites the `name` section of the page at `file`; returns true when it changed. */
export function updateSection(file: string, name: string, body: string): boolean {
  const before = readFileSync(file, 'utf8');
  const after = withSection(before, name, body);
  if (after !== before) writeFileSync(file, after);
  return after !== before;
}
