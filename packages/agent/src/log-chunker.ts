// Turns one attempt's stdout and stderr into ordered log events. One `seq` counts across both
// streams, from 0, so the coordinator can put the output back together exactly as it came.
// Output is batched: a chunk is cut when it reaches 16 KiB or 25 ms after its first byte,
// whichever comes first, and `flush()` (always called before the attempt's finished event)
// cuts whatever is left. A change of stream cuts the pending chunk, to keep the interleaving.
// Chunks end on character boundaries, so text stays text; bytes that are not UTF-8 (or NUL)
// travel as base64 (shared/log-data.ts): the coordinator stores exactly what was printed.
import { encodeReportedLogData, type LogEvent } from '@drover/shared';

export const LOG_CHUNK_BYTES = 16 * 1024;
export const LOG_CHUNK_DELAY_MS = 25;

export interface LogChunkerOptions {
  runId: string;
  token: number;
  /** Receives each chunk, in order. */
  emit: (event: LogEvent) => void;
  chunkBytes?: number;
  delayMs?: number;
  now?: () => number;
}

/** Length of the longest prefix of `buf` that does not end inside a UTF-8 character. */
export function completeUtf8Length(buf: Buffer): number {
  let i = buf.length;
  // Walk back over at most 3 continuation bytes to the lead byte of the last character.
  let back = 0;
  while (i > 0 && back < 4 && ((buf[i - 1] ?? 0) & 0xc0) === 0x80) {
    i--;
    back++;
  }
  if (i === 0) return buf.length;
  const lead = buf[i - 1] ?? 0;
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return back + 1 >= need ? buf.length : i - 1;
}

/** Batches one attempt's output into ordered `LogEvent`s. */
export class LogChunker {
  private seq = 0;
  private stream: 'stdout' | 'stderr' = 'stdout';
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The unfinished last character of a stream we switched away from; it continues on its next write. */
  private readonly carry: Record<'stdout' | 'stderr', Buffer | undefined> = { stdout: undefined, stderr: undefined };
  private timer: NodeJS.Timeout | undefined;
  private readonly chunkBytes: number;
  private readonly delayMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: LogChunkerOptions) {
    this.chunkBytes = Math.max(4, opts.chunkBytes ?? LOG_CHUNK_BYTES);
    this.delayMs = opts.delayMs ?? LOG_CHUNK_DELAY_MS;
    this.now = opts.now ?? Date.now;
  }

  /** The `seq` the next chunk will carry (= how many chunks were emitted). */
  get nextSeq(): number {
    return this.seq;
  }

  /** Adds output of one stream. */
  write(stream: 'stdout' | 'stderr', data: Buffer | string): void {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (buf.length === 0) return;
    if (stream !== this.stream) {
      this.cut(false);
      if (this.pendingBytes > 0) this.carry[this.stream] = this.takePending();
      this.stream = stream;
      const carried = this.carry[stream];
      if (carried) {
        this.carry[stream] = undefined;
        this.append(carried);
      }
    }
    this.append(buf);
    while (this.pendingBytes >= this.chunkBytes) this.cut(false, this.chunkBytes);
    if (this.pendingBytes > 0) {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.cut(false);
      }, this.delayMs);
    }
  }

  /** Emits everything pending, including the bytes of unfinished characters; call before the attempt's finished event. */
  flush(): void {
    this.cut(true);
    for (const stream of ['stdout', 'stderr'] as const) {
      const carried = this.carry[stream];
      if (!carried) continue;
      this.carry[stream] = undefined;
      this.stream = stream;
      this.append(carried);
      this.cut(true);
    }
  }

  private append(buf: Buffer): void {
    this.pending.push(buf);
    this.pendingBytes += buf.length;
  }

  private takePending(): Buffer {
    const all = this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    return all;
  }

  /**
   * Emits up to `max` pending bytes as one chunk. Unless `final`, the chunk ends on a
   * character boundary and the bytes of an unfinished character stay pending.
   */
  private cut(final: boolean, max = Infinity): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.pendingBytes === 0) return;
    const all = this.takePending();
    let take = Math.min(all.length, max);
    if (!final) take = completeUtf8Length(all.subarray(0, take));
    if (take < all.length) this.append(all.subarray(take));
    if (take === 0) return;
    this.opts.emit({
      kind: 'log',
      runId: this.opts.runId,
      token: this.opts.token,
      seq: this.seq++,
      stream: this.stream,
      ...encodeReportedLogData(all.subarray(0, take)),
      at: this.now(),
    });
  }
}
