// The outbox's journal: what the outbox holds, on disk in the state dir, so events a
// coordinator has not acknowledged survive a crash or restart of the agent.
//
//   append(event) ─┐                 one write per turn of the event loop (group commit);
//   ack(ids)      ─┼─▶ [pending] ─▶  fdatasync only when the turn holds a finished event
//   durable()     ─┘                 or someone waits on durable()
//        compaction: live events ─▶ outbox.journal.tmp ─▶ fsync ─▶ rename over outbox.journal
//
// The file is a sequence of records, each `u32 length | u32 crc32 | JSON payload`:
//   {t:'e', i:id, e:event}   an event, ids growing in the order events were pushed
//   {t:'a', r:[from,to,…]}   ids acknowledged (delivered, stale, rejected or shed), as ranges
// Appends go through one file handle in order, so records are never reordered: a log chunk
// that reached the disk has every record before it there too. A crash can tear only the last
// record; replay stops at the first record that does not check out (short, bad length, bad
// crc, bad JSON), logs what it dropped, and the compaction at open leaves only whole records.
// What a crash can cost: events of the last turn that held no finished event (a started
// event, log chunks, acknowledgements: a lost acknowledgement means a resend, which the
// coordinator dedupes by run, token, kind and seq).
import { open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { AgentEvent } from '@drover/shared';

export const JOURNAL_FILE = 'outbox.journal';
const HEADER_BYTES = 8;
/** A record longer than this is not one we wrote: the length field is torn or corrupt. */
const MAX_RECORD_BYTES = 256 * 1024 * 1024;
/** Below this file size, acknowledged records are left in place (a rewrite would cost more than it saves). */
export const COMPACT_MIN_BYTES = 8 * 1024 * 1024;
/** After a failed write, how long before the journal tries again (by rewriting what is live). */
const RETRY_AFTER_FAILURE_MS = 1_000;

/** Where the journal logs; a pino logger fits. */
export interface JournalLogger {
  info(about: object, message: string): void;
  warn(about: object, message: string): void;
  error(about: object, message: string): void;
}

/** An event read back from the journal, not yet acknowledged. */
export interface JournalEntry {
  id: number;
  event: AgentEvent;
  /** Bytes of its record on disk. */
  bytes: number;
}

interface EventRecord {
  t: 'e';
  i: number;
  e: AgentEvent;
}
interface AckRecord {
  t: 'a';
  r: number[];
}
type JournalRecord = EventRecord | AckRecord;

/** Frames one record: length, crc32 of the payload, payload. */
function encode(record: JournalRecord): Buffer {
  const json = JSON.stringify(record);
  const length = Buffer.byteLength(json);
  const buf = Buffer.allocUnsafe(HEADER_BYTES + length);
  buf.write(json, HEADER_BYTES, 'utf8');
  buf.writeUInt32LE(length, 0);
  buf.writeUInt32LE(crc32(buf.subarray(HEADER_BYTES)), 4);
  return buf;
}

/** Sorted ids as inclusive ranges `[from, to, from, to, …]`: a delivered batch is one range. */
function toRanges(ids: number[]): number[] {
  ids.sort((a, b) => a - b);
  const ranges: number[] = [];
  for (const id of ids) {
    const last = ranges.length - 1;
    if (last > 0 && ranges[last] === id - 1) ranges[last] = id;
    else if (last > 0 && ranges[last] === id) continue;
    else ranges.push(id, id);
  }
  return ranges;
}

/** Reads every whole record of a journal file; `validBytes` is where the first bad one starts. */
export function readRecords(buf: Buffer): { records: Array<{ record: JournalRecord; bytes: number }>; validBytes: number } {
  const records: Array<{ record: JournalRecord; bytes: number }> = [];
  let at = 0;
  while (at + HEADER_BYTES <= buf.length) {
    const length = buf.readUInt32LE(at);
    if (length > MAX_RECORD_BYTES || at + HEADER_BYTES + length > buf.length) break;
    const payload = buf.subarray(at + HEADER_BYTES, at + HEADER_BYTES + length);
    if (crc32(payload) !== buf.readUInt32LE(at + 4)) break;
    let record: JournalRecord;
    try {
      record = JSON.parse(payload.toString('utf8')) as JournalRecord;
    } catch {
      break;
    }
    records.push({ record, bytes: HEADER_BYTES + length });
    at += HEADER_BYTES + length;
  }
  return { records, validBytes: at };
}

/** The durable half of the outbox: an append-only, compacted file of events and acknowledgements. */
export class OutboxJournal {
  private readonly live = new Map<number, { event: AgentEvent; bytes: number }>();
  private liveBytes = 0;
  private fileBytes = 0;
  private lastId = 0;
  private pending: Buffer[] = [];
  private pendingAcks: number[] = [];
  private syncWanted = false;
  /** Bytes appended since open, and how many of them are known to be on disk (fsync'd). */
  private appendedPos = 0;
  private syncedPos = 0;
  private waiters: Array<{ pos: number; resolve: () => void }> = [];
  private scheduled = false;
  private cycle: Promise<void> | undefined;
  private failed = false;
  private closed = false;
  private stats = { writes: 0, syncs: 0, compactions: 0 };

  private constructor(
    readonly path: string,
    private handle: FileHandle,
    private readonly log: JournalLogger,
    private readonly compactMinBytes: number,
    private readonly maxBytes: number,
  ) {}

  /**
   * Opens (or creates) the journal in `stateDir`, reads back the events not acknowledged, and
   * rewrites the file with only those, so a torn tail and acknowledged records are gone.
   */
  static async open(
    stateDir: string,
    log: JournalLogger,
    options: {
      /** Below this file size acknowledged records stay (default 8 MiB). */
      compactMinBytes?: number;
      /** Above this file size it is compacted whenever anything in it is acknowledged (the outbox keeps what is live below it). */
      maxBytes?: number;
    } = {},
  ): Promise<{ journal: OutboxJournal; replayed: JournalEntry[] }> {
    const path = join(stateDir, JOURNAL_FILE);
    let buf: Buffer;
    try {
      buf = await readFile(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      buf = Buffer.alloc(0);
    }
    const { records, validBytes } = readRecords(buf);
    if (validBytes < buf.length)
      log.warn(
        { journal: path, validBytes, droppedBytes: buf.length - validBytes },
        'the outbox journal ends with a record that does not check out (torn by a stop in the middle of a write); it and what follows are dropped',
      );
    const handle = await open(path, 'a', 0o600);
    const journal = new OutboxJournal(path, handle, log, options.compactMinBytes ?? COMPACT_MIN_BYTES, options.maxBytes ?? Infinity);
    for (const { record, bytes } of records) {
      if (record.t === 'e') {
        journal.live.set(record.i, { event: record.e, bytes });
        journal.liveBytes += bytes;
        journal.lastId = Math.max(journal.lastId, record.i);
      } else if (record.t === 'a') {
        const r = record.r;
        for (let k = 0; k + 1 < r.length; k += 2) for (let id = r[k] as number; id <= (r[k + 1] as number); id++) journal.forgetLive(id);
      }
    }
    journal.fileBytes = buf.length;
    await journal.compact();
    const replayed = [...journal.live].map(([id, { event, bytes }]) => ({ id, event, bytes }));
    if (replayed.length > 0)
      log.info(
        { journal: path, events: replayed.length, finished: replayed.filter((e) => e.event.kind === 'finished').length },
        'replaying run events no coordinator acknowledged before the agent stopped',
      );
    return { journal, replayed };
  }

  /** Bytes of events not acknowledged: what the file would hold right after a compaction. */
  get bytesLive(): number {
    return this.liveBytes;
  }

  /** Bytes in the file now (what is written; pending records are not). */
  get bytesOnDisk(): number {
    return this.fileBytes;
  }

  /** Writes, fsyncs and compactions so far (for the benchmark). */
  get counters(): { writes: number; syncs: number; compactions: number } {
    return { ...this.stats };
  }

  /** Records an event; returns its id, and its record's size. A finished event is fsync'd in its turn's write. */
  append(event: AgentEvent): { id: number; bytes: number } {
    const id = ++this.lastId;
    const buf = encode({ t: 'e', i: id, e: event });
    this.live.set(id, { event, bytes: buf.length });
    this.liveBytes += buf.length;
    this.pending.push(buf);
    this.appendedPos += buf.length;
    if (event.kind === 'finished') this.syncWanted = true;
    this.schedule();
    return { id, bytes: buf.length };
  }

  /** Records that these events need no sending any more (never fsync'd on their own: a lost ack means one resend). */
  ack(ids: readonly number[]): void {
    const before = this.pendingAcks.length;
    for (const id of ids) if (this.forgetLive(id)) this.pendingAcks.push(id);
    if (this.pendingAcks.length > before) this.schedule();
  }

  /** Resolves once every record appended so far is on disk and fsync'd (or the journal failed, which it logged). */
  durable(): Promise<void> {
    if (this.syncedPos >= this.appendedPos || this.closed) return Promise.resolve();
    this.syncWanted = true;
    this.schedule();
    return new Promise((resolve) => this.waiters.push({ pos: this.appendedPos, resolve }));
  }

  /** Writes and fsyncs what is pending (acknowledgements too), then closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    while (this.cycle || this.scheduled || this.pending.length > 0 || this.pendingAcks.length > 0) {
      if (!this.cycle && !this.scheduled) this.schedule();
      await this.durable();
      await (this.cycle ?? new Promise((r) => setImmediate(r)));
    }
    await this.durable();
    this.closed = true;
    await this.handle.close();
  }

  private forgetLive(id: number): boolean {
    const rec = this.live.get(id);
    if (!rec) return false;
    this.live.delete(id);
    this.liveBytes -= rec.bytes;
    return true;
  }

  private schedule(): void {
    if (this.scheduled || this.cycle || this.closed) return;
    this.scheduled = true;
    // setImmediate, not a microtask: everything pushed in this turn of the event loop (a whole
    // report's worth of started/finished events) shares one write and one fsync.
    setImmediate(() => {
      this.scheduled = false;
      this.cycle = this.run().finally(() => {
        this.cycle = undefined;
        if (this.pending.length > 0 || this.pendingAcks.length > 0 || this.waiters.length > 0) this.schedule();
      });
    });
  }

  /** One group commit: compacts when acknowledged records dominate, else appends; fsyncs when asked. */
  private async run(): Promise<void> {
    const syncPos = this.appendedPos;
    const sync = this.syncWanted;
    this.syncWanted = false;
    try {
      const acked = this.fileBytes - this.liveBytes;
      const due = this.fileBytes >= this.compactMinBytes && (acked > this.liveBytes || (acked > 0 && this.fileBytes > this.maxBytes));
      if (this.failed || due) {
        await this.compact();
      } else {
        if (this.pendingAcks.length > 0) {
          const ack = encode({ t: 'a', r: toRanges(this.pendingAcks) });
          this.pendingAcks = [];
          this.pending.push(ack);
          this.appendedPos += ack.length;
        }
        const buf = this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending);
        this.pending = [];
        if (buf.length > 0) {
          await this.handle.write(buf, 0, buf.length);
          this.fileBytes += buf.length;
          this.stats.writes++;
        }
        if (sync) {
          await this.handle.datasync();
          this.stats.syncs++;
        }
      }
      if (sync) this.syncedPos = Math.max(this.syncedPos, syncPos);
    } catch (err) {
      // Do not hold attempts hostage to a full or broken disk: durability is lost until a
      // retry rewrites the file (what is live is in memory), and the log says so once.
      if (!this.failed)
        this.log.error(
          { journal: this.path, err: (err as Error).message, retryEveryMs: RETRY_AFTER_FAILURE_MS },
          'writing the outbox journal failed: run results are kept in memory only until it works again (free disk space or fix the state dir)',
        );
      this.failed = true;
      this.syncedPos = this.appendedPos;
      this.resolveWaiters();
      await new Promise((r) => setTimeout(r, RETRY_AFTER_FAILURE_MS));
      return;
    }
    this.resolveWaiters();
  }

  private resolveWaiters(): void {
    if (this.waiters.length === 0) return;
    const still: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (w.pos <= this.syncedPos) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  /**
   * Rewrites the file with only the live events, atomically: written to a temporary file,
   * fsync'd, renamed over the journal, and the directory fsync'd so the rename itself is durable.
   */
  private async compact(): Promise<void> {
    const tmp = `${this.path}.tmp`;
    // A snapshot: what is appended or acknowledged during the awaits below goes to the new
    // file in the next turn, through `pending` and `pendingAcks` as usual.
    const snapshotPos = this.appendedPos;
    this.pending = [];
    this.pendingAcks = [];
    const parts: Buffer[] = [];
    let bytes = 0;
    for (const [id, rec] of this.live) {
      const buf = encode({ t: 'e', i: id, e: rec.event });
      this.liveBytes += buf.length - rec.bytes;
      rec.bytes = buf.length;
      parts.push(buf);
      bytes += buf.length;
    }
    const next = await open(tmp, 'w', 0o600);
    try {
      if (bytes > 0) await next.write(Buffer.concat(parts, bytes), 0, bytes);
      await next.datasync();
      await rename(tmp, this.path);
      await syncDir(dirname(this.path));
    } catch (err) {
      await next.close().catch(() => undefined);
      throw err;
    }
    const old = this.handle;
    this.handle = next;
    await old.close().catch(() => undefined);
    this.fileBytes = bytes;
    this.syncedPos = Math.max(this.syncedPos, snapshotPos);
    if (this.failed) this.log.info({ journal: this.path }, 'the outbox journal is written again');
    this.failed = false;
    this.stats.compactions++;
    this.stats.syncs++;
  }
}

/** Fsyncs a directory, so a rename in it survives a power cut. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
