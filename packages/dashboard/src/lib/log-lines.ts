// A run's output as lines to draw: each line knows its attempt, stream and when its first byte
// was printed, and holds pieces of text to draw as they are. Colours (ANSI SGR: colours, bold,
// underline…) are read by anser into data — a colour, a set of decorations — never into HTML,
// so nothing the job printed is ever parsed as markup. Raw mode skips anser: every escape is
// drawn as its visible token (lib/controls.ts). A control character anser leaves (a carriage
// return, a bidi override, an escape that is not SGR) is a token in both modes.
import Anser from 'anser';
import { byteEscape, chunkBytes, utf8Pieces } from '@drover/client/log-bytes';
import type { LogChunk } from '../api/types.js';
import { splitControls } from './controls.js';

/** A piece of text with its look; `control` marks a token drawn for an invisible character or a stray byte. */
export interface Piece {
  text: string;
  /** "r, g, b" from anser, checked to be three numbers. */
  fg?: string;
  bg?: string;
  decorations?: readonly string[];
  /** What the token stands for, e.g. "U+001B ESC". */
  control?: string;
}

export interface LogLine {
  attempt: number;
  stream: 'stdout' | 'stderr';
  /** When the chunk holding the line's first byte was printed. */
  at: string;
  pieces: Piece[];
  /** The line's text as drawn, for search. */
  text: string;
}

const RGB = /^\d{1,3}, ?\d{1,3}, ?\d{1,3}$/;
const DECORATIONS = new Set(['bold', 'dim', 'italic', 'underline', 'blink', 'reverse', 'hidden', 'strikethrough']);

/** Text split into visible tokens for its control characters, each piece with the given look. */
function tokens(text: string, look: Omit<Piece, 'text' | 'control'>): Piece[] {
  return splitControls(text).map((p) => (typeof p === 'string' ? { text: p, ...look } : { text: p.picture, control: p.name }));
}

type Look = Omit<Piece, 'text' | 'control'>;

/** Colours for one stream: anser keeps the SGR state between calls, but not for the text before a call's first escape. */
class Colours {
  private readonly anser = new Anser();
  private carried: Look = {};

  /** The pieces of one line's text, coloured as the stream's earlier escapes left it. */
  pieces(text: string): Piece[] {
    const entries = this.anser.ansiToJson(text, { json: true });
    const out: Piece[] = [];
    entries.forEach((e, i) => {
      const look = i === 0 && !e.was_processed ? this.carried : lookOf(e);
      if (i === entries.length - 1) this.carried = look;
      if (e.content) out.push(...tokens(e.content, look));
    });
    return out;
  }
}

function lookOf(e: Anser.AnserJsonEntry): Look {
  const look: Look = {};
  // Only numbers reach a style attribute; anything else anser might carry is dropped.
  const fg = e.fg_truecolor ?? e.fg;
  const bg = e.bg_truecolor ?? e.bg;
  if (fg && RGB.test(fg)) look.fg = fg;
  if (bg && RGB.test(bg)) look.bg = bg;
  const decorations = (e.decorations ?? []).filter((d) => DECORATIONS.has(d));
  if (decorations.length) look.decorations = decorations;
  return look;
}

/** A chunk's text and stray bytes (output that is not UTF-8 comes as base64). */
function chunkParts(chunk: LogChunk): Array<string | number> {
  if (chunk.encoding !== 'base64') return [chunk.data];
  return utf8Pieces(chunkBytes(chunk));
}

/**
 * The chunks as lines. A line printed over several chunks of one stream is one line; stdout
 * and stderr each keep their own open line and their own colour state, as two terminals would.
 */
export function toLines(chunks: readonly LogChunk[], raw: boolean): LogLine[] {
  const lines: LogLine[] = [];
  const open = new Map<string, LogLine>();
  const colours = new Map<string, Colours>();
  for (const c of chunks) {
    const key = `${c.attempt}:${c.stream}`;
    let colour = colours.get(key);
    if (!raw && !colour) colours.set(key, (colour = new Colours()));
    const lineOf = () => {
      let line = open.get(key);
      if (!line) {
        line = { attempt: c.attempt, stream: c.stream, at: c.at, pieces: [], text: '' };
        open.set(key, line);
        lines.push(line);
      }
      return line;
    };
    for (const part of chunkParts(c)) {
      if (typeof part === 'number') {
        const line = lineOf();
        const text = byteEscape(part);
        line.pieces.push({ text, control: `byte 0x${part.toString(16).padStart(2, '0')} (not UTF-8)` });
        line.text += text;
        continue;
      }
      const segments = part.split('\n');
      segments.forEach((segment, i) => {
        if (segment !== '') {
          const line = lineOf();
          for (const p of colour ? colour.pieces(segment) : tokens(segment, {})) {
            line.pieces.push(p);
            line.text += p.text;
          }
        } else if (i < segments.length - 1) {
          lineOf(); // an empty line is still a line
        }
        if (i < segments.length - 1) open.delete(key);
      });
    }
  }
  return lines;
}
