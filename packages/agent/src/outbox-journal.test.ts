import { appendFile, mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentEvent, FinishedEvent } from '@drover/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JOURNAL_FILE, OutboxJournal, readRecords, type JournalLogger } from './outbox-journal.js';
import { Outbox } from './outbox.js';
import { eventually } from '../test/fixtures.js';

function log(runId: string, seq: number, data = `line ${seq}`): AgentEvent {
  return { kind: 'log', runId, token: 1, seq, stream: 'stdout', data, at: 0 };
}

function finished(runId: string): FinishedEvent {
  return {
    kind: 'finished',
    runId,
    token: 1,
    at: 1,
    outcome: 'succeeded',
    exitCode: 0,
    signal: null,
    error: null,
    durationMs: 1,
    cpuTimeMs: null,
    peakMemoryBytes: null,
    httpStatus: null,
    outputBytes: 0,
    droppedBytes: 0,
    lastLines: [],
  };
}

/** A logger that keeps what was said, by level. */
function recordingLogger(): JournalLogger & { lines: Array<{ level: string; message: string; about: object }> } {
  const lines: Array<{ level: string; message: string; about: object }> = [];
  const at = (level: string) => (about: object, message: string) => lines.push({ level, message, about });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

const describeEvent = (e: AgentEvent) => `${e.runId}:${e.kind}${e.kind === 'log' ? `:${e.seq}` : ''}`;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'drover-journal-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('OutboxJournal', () => {
  it('replays, in order, what was not acknowledged when the agent died without closing it', async () => {
    const { journal } = await OutboxJournal.open(dir, recordingLogger());
    const ids = [log('A', 0), log('A', 1), finished('A'), log('B', 0), finished('B'), log('C', 0)].map((e) => journal.append(e).id);
    journal.ack([ids[0] as number, ids[1] as number, ids[2] as number]);
    await journal.durable();
    // No close(): the process "crashed" here. What was written is in the file.
    const reopened = await OutboxJournal.open(dir, recordingLogger());
    expect(reopened.replayed.map((r) => describeEvent(r.event))).toEqual(['B:log:0', 'B:finished', 'C:log:0']);
    // New events follow the replayed ones; a second restart sees both, in order.
    reopened.journal.append(log('D', 0));
    reopened.journal.ack([reopened.replayed[0]?.id as number]);
    await reopened.journal.close();
    const again = await OutboxJournal.open(dir, recordingLogger());
    expect(again.replayed.map((r) => describeEvent(r.event))).toEqual(['B:finished', 'C:log:0', 'D:log:0']);
    expect(new Set(again.replayed.map((r) => r.id)).size).toBe(3);
    await again.journal.close();
    await journal.close();
  });

  it('fsyncs a turn holding a finished event, and none holding only log chunks and acknowledgements', async () => {
    const { journal } = await OutboxJournal.open(dir, recordingLogger());
    const base = journal.counters.syncs;
    for (let i = 0; i < 100; i++) journal.append(log('A', i));
    await new Promise((r) => setTimeout(r, 50));
    expect(journal.counters.syncs).toBe(base);
    // Group commit: many finished events in one turn cost one write and one fsync.
    const writes = journal.counters.writes;
    for (let i = 0; i < 100; i++) journal.append(finished(`R${i}`));
    // Nobody asks for durability here: the finished events alone make their turn fsync.
    await eventually(() => journal.counters.syncs > base, 5_000, 'an fsync');
    expect(journal.counters.syncs).toBe(base + 1);
    expect(journal.counters.writes).toBe(writes + 1);
    await journal.close();
  });

  it('drops a torn last record, says so, and keeps every whole record before it', async () => {
    const { journal } = await OutboxJournal.open(dir, recordingLogger());
    journal.append(log('A', 0));
    journal.append(finished('A'));
    journal.append(log('B', 0, 'x'.repeat(1_000)));
    await journal.close();
    const path = join(dir, JOURNAL_FILE);
    const size = (await stat(path)).size;
    // A crash in the middle of the last write: only part of the record reached the disk.
    await truncate(path, size - 300);
    const logger = recordingLogger();
    const reopened = await OutboxJournal.open(dir, logger);
    expect(reopened.replayed.map((r) => describeEvent(r.event))).toEqual(['A:log:0', 'A:finished']);
    expect(logger.lines.find((l) => l.level === 'warn')?.message).toMatch(/torn by a stop in the middle of a write/);
    expect(logger.lines.find((l) => l.level === 'warn')?.about).toMatchObject({ droppedBytes: expect.any(Number) });
    // The file holds whole records only now, and appends after it read back.
    reopened.journal.append(log('C', 0));
    await reopened.journal.close();
    const buf = await readFile(path);
    expect(readRecords(buf).validBytes).toBe(buf.length);
    const third = await OutboxJournal.open(dir, recordingLogger());
    expect(third.replayed.map((r) => describeEvent(r.event))).toEqual(['A:log:0', 'A:finished', 'C:log:0']);
    await third.journal.close();
  });

  it('stops at a record whose checksum fails, and at garbage after the last record', async () => {
    const { journal } = await OutboxJournal.open(dir, recordingLogger());
    journal.append(log('A', 0));
    journal.append(log('A', 1));
    await journal.close();
    const path = join(dir, JOURNAL_FILE);
    await appendFile(path, Buffer.from([0xff, 0x00, 0x00]));
    const first = await OutboxJournal.open(dir, recordingLogger());
    expect(first.replayed.map((r) => describeEvent(r.event))).toEqual(['A:log:0', 'A:log:1']);
    await first.journal.close();
    // Change "line 1" into "line 0" inside the second record: still JSON, but its crc no longer matches.
    const buf = await readFile(path);
    const at = buf.lastIndexOf('line 1') + 5;
    buf[at] = (buf[at] as number) ^ 0x01;
    await writeFile(path, buf);
    const reopened = await OutboxJournal.open(dir, recordingLogger());
    expect(reopened.replayed.map((r) => describeEvent(r.event))).toEqual(['A:log:0']);
    await reopened.journal.close();
  });

  it('compacts once acknowledged records dominate: the file shrinks to the live events, which replay in order', async () => {
    const { journal } = await OutboxJournal.open(dir, recordingLogger(), { compactMinBytes: 64 * 1024 });
    const path = join(dir, JOURNAL_FILE);
    const live: string[] = [];
    for (let round = 0; round < 50; round++) {
      const ids = [];
      for (let i = 0; i < 20; i++) ids.push(journal.append(log(`R${round}`, i, 'y'.repeat(200))).id);
      // Keep one event of every fifth round unacknowledged.
      if (round % 5 === 0) {
        live.push(`R${round}:log:19`);
        ids.pop();
      }
      journal.ack(ids);
      await journal.durable();
    }
    await journal.close();
    expect(journal.counters.compactions).toBeGreaterThan(1);
    // Without compaction the file would hold 1000 records of ~260 bytes and the acks.
    const size = (await stat(path)).size;
    console.log(`journal after 1000 events, 10 live: ${size} bytes, ${journal.counters.compactions} compactions`);
    expect(size).toBeLessThan(128 * 1024);
    const reopened = await OutboxJournal.open(dir, recordingLogger());
    expect(reopened.replayed.map((r) => describeEvent(r.event))).toEqual(live);
    // No temporary file is left behind.
    await expect(stat(`${path}.tmp`)).rejects.toMatchObject({ code: 'ENOENT' });
    await reopened.journal.close();
  });

  it('keeps appends made while a compaction is writing', async () => {
    // maxBytes 1: every acknowledgement makes the next turn a compaction.
    const { journal } = await OutboxJournal.open(dir, recordingLogger(), { compactMinBytes: 1, maxBytes: 1 });
    const expected: string[] = [];
    // Each round lands its append a little later into the compaction (open, write, fsync, rename…).
    for (let hops = 0; hops < 40; hops++) {
      const x = journal.append(log('X', hops)).id;
      await journal.durable();
      journal.ack([x]);
      for (let k = 0; k < hops; k++) await new Promise((r) => setImmediate(r));
      journal.append(log('B', hops));
      expected.push(`B:log:${hops}`);
      await journal.durable();
    }
    expect(journal.counters.compactions).toBeGreaterThan(10);
    await journal.close();
    const reopened = await OutboxJournal.open(dir, recordingLogger());
    expect(reopened.replayed.map((r) => describeEvent(r.event))).toEqual(expected);
    await reopened.journal.close();
  });
});

describe('Outbox with a journal', () => {
  it('queues replayed events first and acknowledges delivered ones in the journal', async () => {
    const first = await OutboxJournal.open(dir, recordingLogger());
    const down = new Outbox({
      journal: first.journal,
      send: async () => {
        throw new Error('no coordinator');
      },
      backoff: { initialMs: 10_000, maxMs: 10_000 },
    });
    down.push(log('A', 0));
    down.push(finished('A'));
    await down.durable();
    await down.close();
    const second = await OutboxJournal.open(dir, recordingLogger());
    const sent: string[] = [];
    const up = new Outbox({
      journal: second.journal,
      replayed: second.replayed,
      send: async (events) => (sent.push(...events.map(describeEvent)), { stale: [] }),
    });
    // Replayed attempts are held, so the coordinator does not take them for lost.
    expect(up.pendingAttempts()).toEqual([{ runId: 'A', token: 1 }]);
    up.push(log('B', 0));
    expect(await up.drain(5_000)).toBe(true);
    expect(sent).toEqual(['A:log:0', 'A:finished', 'B:log:0']);
    await up.close();
    const third = await OutboxJournal.open(dir, recordingLogger());
    expect(third.replayed).toEqual([]);
    await third.journal.close();
  });

  it('acknowledges a dropped poison event in the journal, so a restart does not send it again', async () => {
    const first = await OutboxJournal.open(dir, recordingLogger());
    const sent: string[] = [];
    const outbox = new Outbox({
      journal: first.journal,
      send: async (events) => {
        if (events.some((e) => e.runId === 'P'))
          throw Object.assign(new Error('cannot apply'), { name: 'MoleculerClientError', code: 422, type: 'REPORT_REJECTED' });
        sent.push(...events.map(describeEvent));
        return { stale: [] };
      },
    });
    outbox.push(log('A', 0));
    outbox.push(log('P', 0));
    outbox.push(finished('A'));
    expect(await outbox.drain(5_000)).toBe(true);
    expect(sent).toEqual(['A:log:0', 'A:finished']);
    await outbox.close();
    const second = await OutboxJournal.open(dir, recordingLogger());
    expect(second.replayed).toEqual([]);
    await second.journal.close();
  });

  it('over its bound drops the oldest log chunks first, then the oldest finished attempts whole, and says so', async () => {
    const { journal } = await OutboxJournal.open(dir, recordingLogger(), { compactMinBytes: 1024, maxBytes: 8 * 1024 });
    const dropped: Array<{ events: string[]; reason: string; detail: string }> = [];
    const outbox = new Outbox({
      journal,
      maxDiskBytes: 8 * 1024,
      send: async () => {
        throw new Error('no coordinator');
      },
      backoff: { initialMs: 60_000, maxMs: 60_000 },
      onDropped: (events, reason, detail) => dropped.push({ events: events.map(describeEvent), reason, detail }),
    });
    for (let i = 0; i < 20; i++) outbox.push(log('A', i, 'z'.repeat(400)));
    outbox.push({ kind: 'started', runId: 'B', token: 1, at: 0 });
    outbox.push(finished('B'));
    expect(dropped.length).toBeGreaterThan(0);
    expect(dropped.every((d) => d.reason === 'bound')).toBe(true);
    expect(dropped.flatMap((d) => d.events).every((e) => e.startsWith('A:log:'))).toBe(true);
    expect(dropped[0]?.events[0]).toMatch(/^A:log:[01]$/); // the oldest (the first may be in flight)
    expect(journal.bytesLive).toBeLessThanOrEqual(8 * 1024);
    // Only results are left and still too many: the oldest finished attempts go, start and finish together.
    dropped.length = 0;
    for (let i = 0; i < 60; i++) {
      outbox.push({ kind: 'started', runId: `C${i}`, token: 1, at: 0 });
      outbox.push(finished(`C${i}`));
    }
    const shedEvents = dropped.flatMap((d) => d.events);
    expect(shedEvents.some((e) => e.endsWith(':finished'))).toBe(true);
    expect(dropped.some((d) => /results of \d+ finished attempts/.test(d.detail))).toBe(true);
    for (const e of shedEvents.filter((x) => x.endsWith(':finished'))) expect(shedEvents).toContain(e.replace('finished', 'started'));
    expect(shedEvents).toContain('B:finished');
    expect(journal.bytesLive).toBeLessThanOrEqual(8 * 1024);
    // The file itself is rewritten down to what is live once it is over the bound.
    await eventually(() => journal.bytesOnDisk <= 8 * 1024, 5_000, 'the journal file back under its bound');
    await outbox.close();
    const reopened = await OutboxJournal.open(dir, recordingLogger());
    const replayed = reopened.replayed.map((r) => describeEvent(r.event));
    expect(replayed).toContain('C59:finished');
    expect(replayed).not.toContain('B:finished');
    await reopened.journal.close();
  });
});
