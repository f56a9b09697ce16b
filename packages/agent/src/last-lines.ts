// The last lines of an attempt's output, for its finished event: what an operator looks at
// first when a run fails. Fed with ALL output, including what the log limit drops, in bounded
// memory: only the tail of each write can matter, and a long line is kept only up to its cut.
// Lines are split per stream, so a stderr line written in the middle of a stdout line does not
// splice into it; a line joins the tail when its newline arrives.

/** At most this many lines… */
export const LAST_LINES_MAX = 20;
/** …of at most this many bytes in all (UTF-8)… */
export const LAST_LINES_MAX_BYTES = 4096;
/** …each cut to at most this many characters (the last one then an ellipsis). */
export const LAST_LINE_MAX_CHARS = 500;

/** Bytes of a line kept before decoding: enough for LAST_LINE_MAX_CHARS characters of up to 4 bytes. */
const LINE_BYTES = (LAST_LINE_MAX_CHARS + 1) * 4;
const NEWLINE = 0x0a;

interface Partial {
  parts: Buffer[];
  bytes: number;
  /** More bytes arrived than were kept. */
  cut: boolean;
  /** When its first byte arrived, to order unfinished lines of both streams at the end. */
  since: number;
}

function decodeLine(bytes: Buffer, cut: boolean): string {
  let text = bytes.toString('utf8');
  if (text.endsWith('\r')) text = text.slice(0, -1);
  const chars = Array.from(text);
  if (!cut && chars.length <= LAST_LINE_MAX_CHARS) return text;
  return chars.slice(0, LAST_LINE_MAX_CHARS - 1).join('') + '…';
}

/** Keeps the last lines of an attempt's stdout and stderr. */
export class LastLines {
  /** Finished lines, oldest first, as raw bytes (decoded once, at the end). */
  private lines: Array<{ bytes: Buffer; cut: boolean }> = [];
  private readonly partial: Record<'stdout' | 'stderr', Partial | undefined> = { stdout: undefined, stderr: undefined };
  private writes = 0;

  write(stream: 'stdout' | 'stderr', buf: Buffer): void {
    this.writes++;
    let newlines = 0;
    let lastNewline = -1;
    for (let i = buf.indexOf(NEWLINE); i !== -1; i = buf.indexOf(NEWLINE, i + 1)) {
      newlines++;
      lastNewline = i;
    }
    if (newlines === 0) return this.extend(stream, buf);
    // Only the last LAST_LINES_MAX lines this write finishes can survive: skip to them.
    let start = 0;
    let skip = newlines - LAST_LINES_MAX;
    if (skip > 0) {
      this.partial[stream] = undefined;
      for (let i = buf.indexOf(NEWLINE); skip > 0; i = buf.indexOf(NEWLINE, i + 1), skip--) start = i + 1;
    }
    for (let i = buf.indexOf(NEWLINE, start); i !== -1 && i <= lastNewline; i = buf.indexOf(NEWLINE, i + 1)) {
      this.extend(stream, buf.subarray(start, i));
      this.finishLine(stream);
      start = i + 1;
    }
    if (start < buf.length) this.extend(stream, buf.subarray(start));
  }

  /** The lines, oldest first: at most LAST_LINES_MAX, LAST_LINES_MAX_BYTES in all. */
  result(): string[] {
    const unfinished = (['stdout', 'stderr'] as const)
      .map((s) => this.partial[s])
      .filter((p): p is Partial => p !== undefined && p.bytes > 0)
      .sort((a, b) => a.since - b.since)
      .map((p) => ({ bytes: Buffer.concat(p.parts, p.bytes), cut: p.cut }));
    const all = [...this.lines, ...unfinished].slice(-LAST_LINES_MAX).map((l) => decodeLine(l.bytes, l.cut));
    let bytes = all.reduce((sum, l) => sum + Buffer.byteLength(l), 0);
    while (bytes > LAST_LINES_MAX_BYTES && all.length > 0) bytes -= Buffer.byteLength(all.shift() ?? '');
    return all;
  }

  private extend(stream: 'stdout' | 'stderr', piece: Buffer): void {
    const p = (this.partial[stream] ??= { parts: [], bytes: 0, cut: false, since: this.writes });
    const room = LINE_BYTES - p.bytes;
    if (piece.length > room) p.cut = true;
    if (room <= 0 || piece.length === 0) return;
    // A copy, so the kept bytes do not pin the whole read buffer.
    const kept = Buffer.from(piece.subarray(0, room));
    p.parts.push(kept);
    p.bytes += kept.length;
  }

  private finishLine(stream: 'stdout' | 'stderr'): void {
    const p = this.partial[stream];
    this.partial[stream] = undefined;
    this.lines.push({ bytes: p ? Buffer.concat(p.parts, p.bytes) : Buffer.alloc(0), cut: p?.cut ?? false });
    if (this.lines.length > LAST_LINES_MAX) this.lines.shift();
  }
}
