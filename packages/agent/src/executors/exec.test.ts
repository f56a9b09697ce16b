import { mkdtemp, writeFile, chmod, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { execExecutor } from './exec.js';
import { shellExecutor } from './shell.js';
import { eventually, processGone, runToEnd } from '../../test/fixtures.js';

const exec = execExecutor({ killGraceMs: 2_000 });

describe('exec executor', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'drover-exec-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs a program with its arguments and captures stdout', async () => {
    const { result, stdout, startedAt } = await runToEnd(exec, { type: 'exec', command: ['/bin/echo', 'hello', 'a b', '$HOME'] });
    expect(result).toMatchObject({ outcome: 'succeeded', exitCode: 0, signal: null, error: null });
    // No shell: "$HOME" stays literal and "a b" stays one argument.
    expect(stdout).toBe('hello a b $HOME\n');
    expect(startedAt).toBeTypeOf('number');
  });

  it('reports a non-zero exit as failed with the exit code', async () => {
    const { result, stderr } = await runToEnd(exec, { type: 'exec', command: ['sh', '-c', 'echo oops >&2; exit 3'] });
    expect(result).toMatchObject({ outcome: 'failed', exitCode: 3, error: 'exited with code 3' });
    expect(stderr).toBe('oops\n');
  });

  it('fails clearly when the program does not exist', async () => {
    const { result, startedAt } = await runToEnd(exec, { type: 'exec', command: ['no-such-program-drover', '--x'] });
    expect(result).toMatchObject({ outcome: 'failed', exitCode: null, error: 'spawn no-such-program-drover ENOENT: program not found' });
    expect(startedAt).toBeUndefined();
  });

  it('fails clearly when the program is not executable', async () => {
    const script = join(dir, 'not-executable.sh');
    await writeFile(script, '#!/bin/sh\necho hi\n');
    await chmod(script, 0o644);
    const { result } = await runToEnd(exec, { type: 'exec', command: [script] });
    expect(result.outcome).toBe('failed');
    expect(result.error).toContain('EACCES');
  });

  it('fails clearly when the working directory does not exist', async () => {
    const { result } = await runToEnd(exec, { type: 'exec', command: ['/bin/pwd'], cwd: join(dir, 'missing') });
    expect(result).toMatchObject({ outcome: 'failed', error: `cwd ${join(dir, 'missing')}: directory not found` });
  });

  it('runs in the given working directory', async () => {
    const { stdout } = await runToEnd(exec, { type: 'exec', command: ['/bin/pwd'], cwd: dir });
    expect(stdout.trim()).toBe(dir);
  });

  it('passes the job env, run identity and parameters as environment variables', async () => {
    const { result, stdout } = await runToEnd(
      exec,
      {
        type: 'exec',
        command: [
          'sh',
          '-c',
          'echo "$GREETING|$DROVER_RUN_ID|$DROVER_JOB_ID|$DROVER_ATTEMPT|$DROVER_PARAM_REGION|$DROVER_PARAM_BATCH_SIZE|$PATH"',
        ],
        env: { GREETING: 'hi' },
      },
      { runId: 'RUN1', jobId: 'JOB1', attempt: 2, parameters: { region: 'eu', 'batch-size': '10' } },
    );
    expect(result.outcome).toBe('succeeded');
    // The agent's own environment (PATH) is inherited under the job's.
    expect(stdout.trim()).toBe(`hi|RUN1|JOB1|2|eu|10|${process.env.PATH}`);
  });

  it('stops the whole process tree, grandchildren included', async () => {
    let pids: number[] = [];
    const running = exec.start(
      (await import('../../test/fixtures.js')).makeOffer({
        executor: { type: 'exec', command: ['sh', '-c', 'sleep 60 & echo $!; sleep 60 & echo $!; wait'] },
      }),
      { started: () => undefined, output: (_s, d) => (pids = pids.concat(String(d).trim().split(/\s+/).map(Number))) },
    );
    await eventually(() => pids.length === 2, 10_000, 'the grandchildren to start');
    running.stop({ outcome: 'timed_out', message: 'timed out after 1s' });
    const result = await running.result;
    expect(result).toMatchObject({ outcome: 'timed_out', error: 'timed out after 1s' });
    for (const pid of pids) expect(await processGone(pid)).toBe(true);
  });

  it('kills with SIGKILL what ignores SIGTERM, after the grace period', async () => {
    const quick = execExecutor({ killGraceMs: 200 });
    let pid = 0;
    const { makeOffer } = await import('../../test/fixtures.js');
    // `trap "" TERM` makes the shell and its children ignore SIGTERM.
    const running = quick.start(
      makeOffer({ executor: { type: 'exec', command: ['sh', '-c', 'trap "" TERM; sleep 60 & echo $!; wait'] } }),
      {
        started: () => undefined,
        output: (_s, d) => (pid = Number(String(d).trim())),
      },
    );
    await eventually(() => pid > 0, 10_000, 'the grandchild to start');
    running.stop({ outcome: 'cancelled', message: 'cancelled' });
    const result = await running.result;
    expect(result).toMatchObject({ outcome: 'cancelled', signal: 'SIGKILL' });
    expect(await processGone(pid)).toBe(true);
  });

  it('kills what the main process left behind when it exits', async () => {
    const { result, stdout } = await runToEnd(exec, { type: 'exec', command: ['sh', '-c', 'sleep 60 >/dev/null 2>&1 & echo $!'] });
    expect(result.outcome).toBe('succeeded');
    await eventually(() => processGone(Number(stdout.trim())), 10_000, 'the leftover process to be killed');
  });

  it('tells its group watch of the group as it is spawned, and of its end before the result', async () => {
    const calls: string[] = [];
    const watched = execExecutor({
      watchGroups: (offer) => ({
        spawned: (pgid) => calls.push(`spawned ${pgid} ${offer.attempt}`),
        ended: (pgid) => calls.push(`ended ${pgid}`),
      }),
    });
    const { makeOffer } = await import('../../test/fixtures.js');
    let stdout = '';
    const running = watched.start(
      makeOffer({ attempt: 3, executor: { type: 'exec', command: ['sh', '-c', 'echo $$; sleep 60 & exit 0'] } }),
      {
        started: () => calls.push('started'),
        output: (_stream, data) => (stdout += String(data)),
      },
    );
    await running.result;
    calls.push('result');
    const pgid = Number(stdout.trim());
    expect(calls).toEqual([`spawned ${pgid} 3`, 'started', `ended ${pgid}`, 'result']);
  });

  // A group member that traps SIGTERM to clean up, taking longer than the 1 s the agent waits
  // for leftover output after a normal exit; `redirect` detaches it from the output pipes. It
  // waits in short sleeps: sh runs a trap only once its foreground command ends, and a SIGTERM
  // landing just as a long `sleep` is forked can be taken by that sleep, leaving sh to wait it out.
  const cleanupScript = (redirect: boolean) =>
    `sh -c 'trap "sleep 1.5; echo cleaned > \\"$0\\"; exit 0" TERM; echo $$ > "$0.pid"; while :; do sleep 0.1; done' "$1" ${redirect ? '>/dev/null 2>&1' : ''} & wait`;

  for (const redirect of [false, true]) {
    it(`gives a stopped attempt's members the rest of the grace to clean up (${redirect ? 'output redirected' : 'holding the output pipes'})`, async () => {
      const { makeOffer } = await import('../../test/fixtures.js');
      const marker = join(dir, `cleanup-${redirect ? 'redirected' : 'piped'}`);
      const running = exec.start(
        makeOffer({ killGraceMs: 20_000, executor: { type: 'exec', command: ['sh', '-c', cleanupScript(redirect), 'sh', marker] } }),
        { started: () => undefined, output: () => undefined },
      );
      let child = 0;
      await eventually(async () => (child = Number(await readFile(`${marker}.pid`, 'utf8').catch(() => '0'))) > 0, 10_000, 'the child');
      running.stop({ outcome: 'cancelled', message: 'cancelled' });
      const result = await running.result;
      expect(result).toMatchObject({ outcome: 'cancelled', signal: 'SIGTERM' });
      expect(await readFile(marker, 'utf8')).toBe('cleaned\n');
      // The result came only once the group was gone.
      expect(await processGone(child)).toBe(true);
    });
  }

  it("kills a stopped attempt's members that ignore SIGTERM at the end of the grace, even with the pipes closed", async () => {
    const { makeOffer } = await import('../../test/fixtures.js');
    const pidFile = join(dir, 'stubborn.pid');
    const script = `sh -c 'trap "" TERM; echo $$ > "$0"; sleep 60' "$1" >/dev/null 2>&1 & wait`;
    const running = exec.start(makeOffer({ killGraceMs: 300, executor: { type: 'exec', command: ['sh', '-c', script, 'sh', pidFile] } }), {
      started: () => undefined,
      output: () => undefined,
    });
    let child = 0;
    await eventually(async () => (child = Number(await readFile(pidFile, 'utf8').catch(() => '0'))) > 0, 10_000, 'the child');
    running.stop({ outcome: 'timed_out', message: 'timed out after 1s' });
    expect(await running.result).toMatchObject({ outcome: 'timed_out', error: 'timed out after 1s' });
    expect(await processGone(child)).toBe(true);
  });

  it('sends no signal for a stop that comes after the attempt ended: its group number may name another group by then', async () => {
    const { makeOffer } = await import('../../test/fixtures.js');
    const running = exec.start(makeOffer({ executor: { type: 'exec', command: ['true'] } }), {
      started: () => undefined,
      output: () => undefined,
    });
    expect((await running.result).outcome).toBe('succeeded');
    const kill = vi.spyOn(process, 'kill');
    try {
      running.stop({ outcome: 'cancelled', message: 'too late' });
      expect(kill).not.toHaveBeenCalled();
    } finally {
      kill.mockRestore();
    }
  });

  it("uses the offer's killGraceMs over the executor's", async () => {
    const { makeOffer } = await import('../../test/fixtures.js');
    // The executor's grace is longer than the test may take: only the offer's lets it end.
    const patient = execExecutor({ killGraceMs: 120_000 });
    let pid = 0;
    const running = patient.start(
      makeOffer({ killGraceMs: 200, executor: { type: 'exec', command: ['sh', '-c', 'trap "" TERM; sleep 60 & echo $!; wait'] } }),
      { started: () => undefined, output: (_s, d) => (pid = Number(String(d).trim())) },
    );
    await eventually(() => pid > 0, 10_000, 'the grandchild to start');
    running.stop({ outcome: 'cancelled', message: 'cancelled' });
    expect(await running.result).toMatchObject({ outcome: 'cancelled', signal: 'SIGKILL' });
    expect(await processGone(pid)).toBe(true);
  });

  it('substitutes parameters into arguments: each value stays one argument, verbatim', async () => {
    const values = ['; rm -rf /', '$(id) `id`', 'two\nlines', '@/etc/passwd', '../x', '--help', '', ' spaced ', '{{ run.id }}'];
    const parameters = Object.fromEntries(values.map((v, i) => [`p${i}`, v]));
    const { result, stdout } = await runToEnd(
      exec,
      {
        type: 'exec',
        command: ['printf', '%s\\0', ...values.map((_, i) => `{{ param.p${i} }}`), 'run={{ run.id }}', 'attempt={{ attempt }}'],
      },
      { runId: 'RUN9', attempt: 4, parameters },
    );
    expect(result.outcome).toBe('succeeded');
    expect(stdout.split('\0').slice(0, -1)).toEqual([...values, 'run=RUN9', 'attempt=4']);
  });

  it('measures CPU time and peak memory by sampling /proc on Linux', async () => {
    const { result } = await runToEnd(exec, {
      type: 'exec',
      command: [
        process.execPath,
        '-e',
        'const a = Buffer.alloc(64 * 1024 * 1024, 1); let x = 0; for (let i = 0; i < 1e8; i++) x += i; console.log(a.length + (x > 0 ? 0 : 1))',
      ],
    });
    expect(result.outcome).toBe('succeeded');
    if (process.platform !== 'linux') return;
    expect(result.cpuTimeMs).toBeGreaterThan(0);
    expect(result.peakMemoryBytes).toBeGreaterThan(64 * 1024 * 1024);
  }, 30_000);
});

describe('shell executor', () => {
  it('runs a script through /bin/sh', async () => {
    const { result, stdout } = await runToEnd(
      shellExecutor(),
      { type: 'shell', script: 'for i in 1 2 3; do printf "$i"; done; echo " $DROVER_PARAM_X"' },
      { parameters: { x: 'y' } },
    );
    expect(result.outcome).toBe('succeeded');
    expect(stdout).toBe('123 y\n');
  });

  it('reports the exit code of a failing script', async () => {
    const { result } = await runToEnd(shellExecutor(), { type: 'shell', script: 'exit 7' });
    expect(result).toMatchObject({ outcome: 'failed', exitCode: 7 });
  });

  it('renders templates in the env, never in the script', async () => {
    const { stdout } = await runToEnd(
      shellExecutor(),
      { type: 'shell', script: 'echo "$GREETING {{ param.x }} $DROVER_PARAM_X"', env: { GREETING: 'hi {{ param.x }}' } },
      { parameters: { x: '$(echo injected)' } },
    );
    expect(stdout).toBe('hi $(echo injected) {{ param.x }} $(echo injected)\n');
  });
});

describe('exec executor backpressure', () => {
  it('stops reading output while the agent has no room for it, and loses nothing', async () => {
    const { makeOffer } = await import('../../test/fixtures.js');
    let room: { promise: Promise<void>; resolve: () => void } | undefined;
    let bytes = 0;
    let pausedAt = -1;
    const running = execExecutor().start(
      makeOffer({ executor: { type: 'exec', command: ['sh', '-c', 'head -c 1000000 /dev/zero | tr "\\0" x'] } }),
      {
        started: () => undefined,
        output: (_s, d) => {
          bytes += d.length;
        },
        roomForOutput: () => {
          if (pausedAt >= 0) return undefined;
          pausedAt = bytes;
          let resolve: () => void = () => undefined;
          const promise = new Promise<void>((r) => (resolve = r));
          room = { promise, resolve };
          return promise;
        },
      },
    );
    await eventually(() => room !== undefined, 10_000, 'the first chunk of output');
    // Paused: the child blocks on its full pipe, so no more output arrives.
    await new Promise((r) => setTimeout(r, 100));
    expect(bytes).toBe(pausedAt);
    room?.resolve();
    const result = await running.result;
    expect(result.outcome).toBe('succeeded');
    expect(bytes).toBe(1_000_000);
  });
});
