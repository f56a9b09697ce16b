// Output is bytes: a job that prints NUL, invalid UTF-8, binary noise or a 10 MiB line without a
// newline runs on a real agent, its output reads back byte for byte (JSON chunks and raw), and
// the agent's next run is not held up behind it. Each job records its start in a marks file,
// so executions are counted, not only states.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { api, createTestEnv, DROVER_BIN, runHelpers, startAgent, startCoordinator, type TestEnv } from './support/index.js';

const MiB = 1024 * 1024;
const POOL = { attribute: 'label.pool', operator: '=', value: 'poison' };

let env: TestEnv;
let h: ReturnType<typeof runHelpers>;
let dir: string;
let addr: string;

/** `drover logs <run>` to a pipe (its stdout's bytes), or at a terminal through script(1) (what the terminal got). */
async function droverLogs(runId: string, atTerminal: boolean): Promise<Buffer> {
  const run = promisify(execFile);
  const options = { env: { ...process.env, DROVER_ADDR: addr }, encoding: 'buffer' as const };
  const { stdout } = atTerminal
    ? await run('script', ['-qec', `${process.execPath} ${DROVER_BIN} logs ${runId}`, '/dev/null'], options)
    : await run(process.execPath, [DROVER_BIN, 'logs', runId], options);
  return stdout;
}

beforeAll(async () => {
  env = await createTestEnv();
  dir = mkdtempSync(join(tmpdir(), 'drover-poison-'));
  env.onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  addr = (await startCoordinator(env)).url;
  h = runHelpers(api(addr));
  await startAgent(env, { labels: { pool: 'poison' }, allowShell: true });
});
afterAll(async () => env?.cleanup());

/** A job that appends its run id to the marks file, then runs `script`. */
async function markedJob(name: string, script: string): Promise<string> {
  return h.createJob({
    name,
    executor: { type: 'exec', command: ['sh', '-c', `echo "$DROVER_RUN_ID" >> "${join(dir, 'marks')}"; ${script}`] },
    constraints: [POOL],
  });
}

/** How many times each run started, from the marks file. */
function starts(runId: string): number {
  const lines = readFileSync(join(dir, 'marks'), 'utf8').split('\n');
  return lines.filter((l) => l === runId).length;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

it('stores NUL and invalid UTF-8 as printed, and the next run of the agent flows', { timeout: 60_000 }, async () => {
  const poison = await markedJob('prints-nul', "printf 'a\\000b\\377c'");
  const next = await markedJob('prints-text', 'echo next');
  const first = await h.trigger(poison);
  const triggeredAt = Date.now();
  const second = await h.trigger(next);
  const [a, b] = await Promise.all([h.waitForRun(first), h.waitForRun(second)]);
  console.log(`poison-output: the run after the NUL run ended ${Date.now() - triggeredAt} ms after it was triggered`);
  expect(a.state).toBe('succeeded');
  expect(b.state).toBe('succeeded');
  expect([starts(first), starts(second)]).toEqual([1, 1]);

  const printed = Buffer.from([0x61, 0x00, 0x62, 0xff, 0x63]);
  expect((await h.outputBytes(first, 'stdout')).equals(printed)).toBe(true);
  expect((await h.rawOutput(first)).equals(printed)).toBe(true);
  expect((await h.rawOutput(first, '', { accept: 'application/octet-stream' })).equals(printed)).toBe(true);
  // Raw output is read, not followed.
  expect((await api(addr).get<{ errors: Array<{ field: string }> }>(`/v1/runs/${first}/logs?format=raw&follow=1`)).body).toMatchObject({
    status: 400,
    errors: [{ field: 'format' }],
  });
  // A chunk that is not UTF-8 is base64 in JSON; text stays text.
  expect((await h.allLogs(first)).map((c) => c.encoding)).toEqual(['base64']);
  expect(await h.allLogs(second)).toMatchObject([{ data: 'next\n' }]);
  expect(await h.outputBytes(second)).toEqual(Buffer.from('next\n'));
  // `drover logs`: a pipe gets the bytes, a terminal sees the NUL and the stray byte as escapes.
  expect((await droverLogs(first, false)).equals(printed)).toBe(true);
  expect((await droverLogs(first, true)).toString('latin1')).toContain('a\\x00b\\xffc');
  // Last lines are for display: what text cannot show is U+FFFD.
  expect(a.lastLines).toEqual(['a\uFFFDb\uFFFDc']);
  // A sanity bound only: the second run waits for nothing but its own execution.
  expect(Date.now() - triggeredAt).toBeLessThan(10_000);
});

it('round-trips a 10 MiB line without a newline and seeded binary noise', { timeout: 120_000 }, async () => {
  const noise = seededNoise(4 * MiB, 0x5eed);
  const noiseFile = join(dir, 'noise.bin');
  writeFileSync(noiseFile, noise);
  const line = await markedJob('prints-long-line', `head -c ${10 * MiB} /dev/zero | tr '\\0' x`);
  const binary = await markedJob('prints-noise', `cat "${noiseFile}"`);
  const lineRun = await h.trigger(line);
  const noiseRun = await h.trigger(binary);
  const [l, n] = await Promise.all([h.waitForRun(lineRun, undefined, 90_000), h.waitForRun(noiseRun, undefined, 90_000)]);
  expect([l.state, n.state]).toEqual(['succeeded', 'succeeded']);
  expect([starts(lineRun), starts(noiseRun)]).toEqual([1, 1]);
  expect(l).toMatchObject({ outputBytes: 10 * MiB, droppedBytes: 0 });

  const longLine = Buffer.alloc(10 * MiB, 'x');
  expect(sha256(await h.rawOutput(lineRun))).toBe(sha256(longLine));
  expect(sha256(await h.outputBytes(lineRun))).toBe(sha256(longLine));
  expect(sha256(await h.rawOutput(noiseRun))).toBe(sha256(noise));
  expect(sha256(await h.outputBytes(noiseRun, 'stdout'))).toBe(sha256(noise));
  // One attempt's raw output, and the rest after a cursor, are the same bytes cut elsewhere.
  expect(sha256(await h.rawOutput(noiseRun, 'format=raw&attempt=1'))).toBe(sha256(noise));
  const chunks = await h.allLogs(noiseRun);
  const afterFirst = await h.rawOutput(noiseRun, `format=raw&cursor=1:${chunks[0]?.seq ?? 0}`);
  expect(sha256(afterFirst)).toBe(sha256(noise.subarray(noise.length - afterFirst.length)));
  expect(afterFirst.length).toBeLessThan(noise.length);
});

/** `length` bytes from a xorshift32 generator: the same noise on every run of the test. */
function seededNoise(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}
