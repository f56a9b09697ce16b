// The log limit of one attempt (the job's `logLimit`): the first `limitBytes` of output go to
// the log chunker; beyond them output is counted and dropped, never buffered, so a job that
// prints gigabytes neither blocks (its pipes keep being read) nor grows the agent's memory.
// The last lines are taken from all output, dropped part included: the end of the output is
// what an operator wants to see. When anything was dropped, the attempt's last log chunk is a
// marker on stderr saying how much.
import { DEFAULT_LOG_LIMIT_BYTES, formatBytes } from '@drover/shared';
import { LastLines } from './last-lines.js';
import { completeUtf8Length, type LogChunker } from './log-chunker.js';

/** What the finished event says about an attempt's output. */
export interface OutputSummary {
  outputBytes: number;
  droppedBytes: number;
  lastLines: string[];
}

/** The marker line that ends the log of an attempt whose output went over its limit. */
export function truncationMarker(keptBytes: number, outputBytes: number, limitBytes: number): string {
  return (
    `[drover] output truncated: kept the first ${formatBytes(keptBytes)} of ${formatBytes(outputBytes)}; ` +
    `${formatBytes(outputBytes - keptBytes)} dropped (the job's logLimit is ${formatBytes(limitBytes)})\n`
  );
}

/** Applies one attempt's log limit between its executor and its log chunker. */
export class OutputLimit {
  private outputBytes = 0;
  private keptBytes = 0;
  /** Once output was dropped, everything after is too, so the log is an exact prefix. */
  private full = false;
  private endsWithNewline = true;
  private readonly tail = new LastLines();
  readonly limitBytes: number;

  constructor(
    private readonly chunker: LogChunker,
    limitBytes: number | undefined,
  ) {
    this.limitBytes =
      typeof limitBytes === 'number' && Number.isFinite(limitBytes) && limitBytes >= 0 ? limitBytes : DEFAULT_LOG_LIMIT_BYTES;
  }

  write(stream: 'stdout' | 'stderr', data: Buffer | string): void {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (buf.length === 0) return;
    this.outputBytes += buf.length;
    this.tail.write(stream, buf);
    if (this.full) return;
    let keep = buf;
    if (this.keptBytes + buf.length > this.limitBytes) {
      this.full = true;
      // Cut on a character boundary, so the kept log does not end in a broken character.
      keep = buf.subarray(0, completeUtf8Length(buf.subarray(0, this.limitBytes - this.keptBytes)));
    }
    if (keep.length === 0) return;
    this.keptBytes += keep.length;
    this.endsWithNewline = keep[keep.length - 1] === 0x0a;
    this.chunker.write(stream, keep);
  }

  /** Flushes the chunker, adds the marker when output was dropped, and sums the output up. */
  end(): OutputSummary {
    this.chunker.flush();
    const droppedBytes = this.outputBytes - this.keptBytes;
    if (droppedBytes > 0) {
      // Its own line, even when the kept part stops mid-line.
      const marker = truncationMarker(this.keptBytes, this.outputBytes, this.limitBytes);
      this.chunker.write('stderr', this.endsWithNewline ? marker : `\n${marker}`);
      this.chunker.flush();
    }
    return { outputBytes: this.outputBytes, droppedBytes, lastLines: this.tail.result() };
  }
}
