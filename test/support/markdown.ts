// Reading the docs as the docs-commands test does: fenced code blocks with their info strings,
// relative links, and the anchors GitHub gives headings. Pure functions over a page's text.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** A fenced code block: where it opens (1-based line), its info string split, and its text. */
export interface FencedBlock {
  readonly line: number;
  /** The line of its closing fence (the last line when it is not closed). */
  readonly endLine: number;
  /** The first word of the info string (`sh`), lower-cased; '' when there is none. */
  readonly lang: string;
  /** The rest of the info string, trimmed (`tested`, `not-tested: needs Docker`). */
  readonly info: string;
  readonly text: string;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;

/** Every fenced block of a Markdown page, in order. An unclosed fence runs to the end, as in CommonMark. */
export function fencedBlocks(markdown: string): FencedBlock[] {
  const lines = markdown.split('\n');
  const out: FencedBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const fence = open[1]!;
    const [lang = '', ...rest] = open[2]!.trim().split(/\s+/);
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(lines[j]!);
      if (close && close[1]![0] === fence[0] && close[1]!.length >= fence.length) break;
      body.push(lines[j]!);
    }
    out.push({
      line: i + 1,
      endLine: Math.min(j + 1, lines.length),
      lang: lang.toLowerCase(),
      info: rest.join(' '),
      text: body.join('\n'),
    });
    i = j;
  }
  return out;
}

/** The page's lines with its fenced blocks blanked (line numbers kept). */
function outsideFences(markdown: string): string[] {
  const lines = markdown.split('\n');
  for (const b of fencedBlocks(markdown)) for (let k = b.line - 1; k < b.endLine; k++) lines[k] = '';
  return lines;
}

/** The page with its fenced blocks and inline code spans blanked (line numbers kept). */
export function proseOf(markdown: string): string {
  return outsideFences(markdown)
    .map((l) => l.replace(/(`+)[^`]*?\1/g, ''))
    .join('\n');
}

/** A link written in a page: its target as written and the line it is on. */
export interface Link {
  readonly line: number;
  readonly target: string;
}

/** The inline links, images and reference definitions of a page's prose. */
export function linksOf(markdown: string): Link[] {
  const out: Link[] = [];
  proseOf(markdown)
    .split('\n')
    .forEach((text, i) => {
      for (const m of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push({ line: i + 1, target: m[1]! });
      const def = /^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(text);
      if (def) out.push({ line: i + 1, target: def[1]! });
    });
  return out;
}

/** The anchor GitHub gives a heading's text. */
export function slug(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Every anchor a page has: its headings' slugs (numbered when repeated) and explicit `id`/`name`s. */
export function anchorsOf(markdown: string): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of outsideFences(markdown)) {
    const h = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (h) {
      const base = slug(h[1]!);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      out.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const m of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) out.add(m[1]!);
  }
  return out;
}

const anchorCache = new Map<string, Set<string>>();

/** Why a relative link of `file` does not resolve, or undefined when it does (or is not relative). */
export function brokenLink(root: string, file: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) return undefined;
  const [pathPart = '', anchor] = target.split('#', 2);
  const resolved = pathPart === '' ? path.join(root, file) : path.resolve(path.dirname(path.join(root, file)), decodeURI(pathPart));
  if (!resolved.startsWith(root)) return `${target} points outside the repository`;
  if (!existsSync(resolved)) return `${target}: no such file`;
  if (anchor === undefined || anchor === '' || !resolved.endsWith('.md') || statSync(resolved).isDirectory()) return undefined;
  let anchors = anchorCache.get(resolved);
  if (!anchors) anchorCache.set(resolved, (anchors = anchorsOf(readFileSync(resolved, 'utf8'))));
  return anchors.has(decodeURIComponent(anchor).toLowerCase()) ? undefined : `${target}: no heading with that anchor`;
}

/** The documentation pages the docs-commands test reads, relative to the repository root. */
export function docPages(root: string): string[] {
  const md = (dir: string) =>
    existsSync(path.join(root, dir))
      ? readdirSync(path.join(root, dir))
          .filter((f) => f.endsWith('.md'))
          .sort()
          .map((f) => path.posix.join(dir, f))
      : [];
  const packages = readdirSync(path.join(root, 'packages'))
    .sort()
    .map((p) => `packages/${p}/README.md`)
    .filter((f) => existsSync(path.join(root, f)));
  return ['README.md', ...md('docs'), ...packages];
}
