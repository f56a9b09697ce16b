// The outbox journal under a real crash: a child process appends large log chunks and finished
// events as fast as it can and says which results it saw on disk; it is killed with SIGKILL in
// the middle of that. Reopened, the journal holds every result the child was told was durable,
// in the order it was appended, in whole records (one cut by the kill would be dropped).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, expect, it } from 'vitest';
import { JOURNAL_FILE, OutboxJournal, readRecords } from '../packages/agent/src/outbox-journal.js';
import { REPO_ROOT } from './support/database.js';

const dir = mkdtempSync(join(tmpdir(), 'drover-journal-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CHILD = `
import { OutboxJournal } from ${JSON.stringify(join(REPO_ROOT, 'packages/agent/dist/outbox-journal.js'))};
const quiet = { info() {}, warn() {}, error() {} };
const { journal } = await OutboxJournal.open(process.argv[1], quiet);
const data = 'x'.repeat(256 * 1024);
for (let i = 0; ; i++) {
  const runId = 'R' + i;
  journal.append({ kind: 'started', runId, token: 1, at: i });
  for (let seq = 0; seq < 4; seq++) journal.append({ kind: 'log', runId, token: 1, seq, stream: 'stdout', data, at: i });
  journal.append({ kind: 'finished', runId, token: 1, at: i, outcome: 'succeeded', exitCode: 0, signal: null, error: null,
    durationMs: 1, cpuTimeMs: null, peakMemoryBytes: null, httpStatus: null, outputBytes: 0, droppedBytes: 0, lastLines: [] });
  // Every other run is not waited for: its records are still being written when the next ones come.
  if (i % 2 === 0) {
    await journal.durable();
    process.stdout.write('durable ' + runId + '\\n');
  }
}
`;

it('keeps every result a killed writer saw on disk, in order, in whole records', { timeout: 60_000 }, async () => {
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const durable: string[] = [];
  const lines = createInterface({ input: child.stdout });
  await new Promise<void>((resolve, reject) => {
    lines.on('line', (line) => {
      durable.push(line.replace('durable ', ''));
      // Kill it mid-stream, while writes of the runs after this one are in flight.
      if (durable.length === 20) child.kill('SIGKILL');
    });
    child.once('exit', () => resolve());
    child.once('error', reject);
  });
  expect(durable.length).toBeGreaterThanOrEqual(20);

  const before = readFileSync(join(dir, JOURNAL_FILE));
  const { validBytes } = readRecords(before);
  console.log(`journal at the kill: ${before.length} bytes, ${before.length - validBytes} of them a torn last record`);
  const warnings: string[] = [];
  const { journal, replayed } = await OutboxJournal.open(dir, {
    info() {},
    warn: (_about, message) => warnings.push(message),
    error() {},
  });
  try {
    if (validBytes < before.length) expect(warnings.join('\n')).toMatch(/does not check out/);
    const finished = replayed.filter((r) => r.event.kind === 'finished').map((r) => r.event.runId);
    for (const runId of durable) expect(finished).toContain(runId);
    // In the order appended: ids grow, and each run's start, chunks and result come in order.
    expect(replayed.map((r) => r.id)).toEqual([...replayed.map((r) => r.id)].sort((a, b) => a - b));
    const seen = new Map<string, string[]>();
    for (const r of replayed) seen.set(r.event.runId, [...(seen.get(r.event.runId) ?? []), r.event.kind]);
    for (const [runId, kinds] of seen)
      if (kinds.includes('finished')) expect(kinds, runId).toEqual(['started', 'log', 'log', 'log', 'log', 'finished']);
    // The file holds only whole records now.
    const after = readFileSync(join(dir, JOURNAL_FILE));
    expect(readRecords(after).validBytes).toBe(after.length);
  } finally {
    await journal.close();
  }
});
