// Masks an attempt's secret values in its output before anything else sees it (the log limit,
// the last lines, the chunker), so no log chunk, finished event or API response carries one.
//
// Output arrives in arbitrary pieces, so a value may be split across writes: each stream keeps
// back the shortest tail that could still become a secret (a proper prefix of one) until the
// next write or the end. Every occurrence of every value is found, overlapping ones are merged,
// and each merged span becomes `***`, so neither of two overlapping values leaks a part.
// Empty values are ignored. Comparison is on UTF-8 bytes.

export const MASK = '***';
const MASK_BYTES = Buffer.from(MASK);

type Stream = 'stdout' | 'stderr';

/** Replaces secret values in one attempt's stdout and stderr. */
export class SecretMasker {
  private readonly values: Buffer[];
  private readonly held: Record<Stream, Buffer | undefined> = { stdout: undefined, stderr: undefined };

  constructor(
    secrets: Iterable<string>,
    private readonly emit: (stream: Stream, data: Buffer) => void,
  ) {
    const unique = new Set([...secrets].filter((s) => typeof s === 'string' && s.length > 0));
    this.values = [...unique].map((s) => Buffer.from(s, 'utf8'));
  }

  /** True when there is nothing to mask (output passes straight through). */
  get empty(): boolean {
    return this.values.length === 0;
  }

  /** Adds output of one stream; emits what can no longer turn into a secret. */
  write(stream: Stream, data: Buffer | string): void {
    const piece = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (this.empty) {
      if (piece.length > 0) this.emit(stream, piece);
      return;
    }
    const prior = this.held[stream];
    const buf = prior ? Buffer.concat([prior, piece]) : piece;
    this.held[stream] = undefined;
    this.process(stream, buf, false);
  }

  /** Emits whatever is held back, masked; call at the end of the attempt. */
  flush(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      const prior = this.held[stream];
      this.held[stream] = undefined;
      if (prior) this.process(stream, prior, true);
    }
  }

  private process(stream: Stream, buf: Buffer, final: boolean): void {
    const spans = this.spans(buf);
    // Hold back a tail that is a proper prefix of some value; if a match crosses that point,
    // hold back from the match's start (it is found again, whole, with the next write).
    let cut = final ? buf.length : buf.length - this.heldTail(buf);
    for (const [start, end] of spans) if (start < cut && end > cut) cut = start;
    const out: Buffer[] = [];
    let at = 0;
    for (const [start, end] of spans) {
      if (end > cut) break;
      out.push(buf.subarray(at, start), MASK_BYTES);
      at = end;
    }
    out.push(buf.subarray(at, cut));
    const masked = Buffer.concat(out);
    if (masked.length > 0) this.emit(stream, masked);
    if (cut < buf.length) this.held[stream] = Buffer.from(buf.subarray(cut));
  }

  /** Every occurrence of every value, as merged [start, end) spans in order. */
  private spans(buf: Buffer): Array<[number, number]> {
    const found: Array<[number, number]> = [];
    for (const v of this.values) {
      for (let i = buf.indexOf(v); i !== -1; i = buf.indexOf(v, i + 1)) found.push([i, i + v.length]);
    }
    found.sort((a, b) => a[0] - b[0]);
    const merged: Array<[number, number]> = [];
    for (const [s, e] of found) {
      const last = merged[merged.length - 1];
      if (last && s <= last[1]) last[1] = Math.max(last[1], e);
      else merged.push([s, e]);
    }
    return merged;
  }

  /** Length of the longest tail of `buf` that is a proper prefix of some value. */
  private heldTail(buf: Buffer): number {
    let best = 0;
    for (const v of this.values) {
      for (let n = Math.min(v.length - 1, buf.length); n > best; n--) {
        if (buf.compare(v, 0, n, buf.length - n, buf.length) === 0) {
          best = n;
          break;
        }
      }
    }
    return best;
  }
}
