// The agent's least privilege, through the whole stack: exec arguments reach the program byte
// for byte (no shell), shell and http jobs wait until an agent allows them, attempts run as the
// configured user inside the work root (no `..` or symlink escape), and output with control
// characters is stored and served exactly as printed.
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, chmodSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  createTestEnv,
  runHelpers,
  spawnDrover,
  startAgent,
  startCoordinator,
  type ApiClient,
  type Problem,
  type StartedAgent,
  type TestEnv,
} from './support/index.js';

const INJECTIONS = [
  '; rm -rf /tmp/x',
  '$(id)',
  '`id`',
  'a\nb',
  '@/etc/passwd',
  '../x',
  '../../etc/shadow',
  '$HOME',
  `"'`,
  '*',
  '|| true &',
  '',
];

const isRoot = process.getuid?.() === 0;
const CANARY = `canary-${process.pid}-${Date.now()}`;
const nobodyId = spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' });
const nobodyUid = nobodyId.status === 0 ? Number(nobodyId.stdout.trim()) : undefined;

let env: TestEnv;
let client: ApiClient;
let h: ReturnType<typeof runHelpers>;
let runAsNobody = false;
let agent: StartedAgent;
let root: string;

async function output(runId: string, stream = 'stdout'): Promise<string> {
  return (await h.allLogs(runId))
    .filter((c) => c.stream === stream)
    .map((c) => c.data)
    .join('');
}

beforeAll(async () => {
  env = await createTestEnv();
  const base = realpathSync(mkdtempSync(join(tmpdir(), 'drover-exec-sec-')));
  env.onCleanup(() => rmSync(base, { recursive: true, force: true }));
  // Readable by the run-as user.
  chmodSync(base, 0o755);
  root = join(base, 'work');
  mkdirSync(join(root, 'jobs/report'), { recursive: true });
  mkdirSync(join(base, 'outside'));
  symlinkSync(join(base, 'outside'), join(root, 'escape'));
  const coordinator = await startCoordinator(env);
  client = api(coordinator.url);
  h = runHelpers(client);
  // Defaults apart from the work root (and the user, where the test may switch users: then
  // without --allow-same-user, as a production agent runs). The canary stands for the join
  // token and NATS password in the agent's environment.
  runAsNobody = isRoot && nobodyUid !== undefined;
  agent = await startAgent(env, {
    extraArgs: ['--work-root', root, ...(runAsNobody ? ['--run-as', 'nobody'] : [])],
    allowSameUser: !runAsNobody,
    env: { DROVER_CANARY_SECRET: CANARY },
  });
}, 60_000);

afterAll(async () => {
  await env?.cleanup();
});

describe('exec', () => {
  it('passes each argument to the program verbatim: no shell, no globbing, no expansion', async () => {
    const jobId = await h.createJob({ name: 'argv', executor: { type: 'exec', command: ['printf', '%s\\036', ...INJECTIONS] } });
    const run = await h.waitForRun(await h.trigger(jobId));
    expect(run.state, JSON.stringify(run)).toBe('succeeded');
    expect((await output(run.id)).split('\x1e').slice(0, -1)).toEqual(INJECTIONS);
  });

  it('stores output with control characters exactly as printed', async () => {
    const printed = 'a\x1b[31mred\x1b[0m\r\nb\tc\x07\x1b]0;title\x07\u202eevil\n';
    const jobId = await h.createJob({ name: 'control', executor: { type: 'exec', command: ['printf', '%s', printed] } });
    const run = await h.waitForRun(await h.trigger(jobId));
    expect(run.state).toBe('succeeded');
    expect(await output(run.id)).toBe(printed);
  });
});

describe('executors an agent allows', () => {
  it('advertises exec and noop only by default; shell and http jobs wait, saying how to allow them', async () => {
    const agents = (await client.get<{ items: Array<{ id: string; executors: string[] }> }>('/v1/agents')).body.items;
    expect(agents.find((a) => a.id === agent.agentId)?.executors.sort()).toEqual(['exec', 'noop']);
    const shell = await h.trigger(await h.createJob({ name: 'shell-job', executor: { type: 'shell', script: 'echo hi' } }));
    const http = await h.trigger(await h.createJob({ name: 'http-job', executor: { type: 'http', url: 'http://127.0.0.1:9/' } }));
    expect((await h.waitForRun(shell, (r) => r.queueReason !== null)).queueReason).toBe(
      'no agent allows the shell executor (start an agent with --allow-shell)',
    );
    const waiting = await h.waitForRun(http, (r) => r.queueReason !== null);
    expect(waiting).toMatchObject({ state: 'queued', queueReason: 'no agent allows the http executor (start an agent with --allow-http)' });
    await client.post(`/v1/runs/${shell}/cancel`);
    await client.post(`/v1/runs/${http}/cancel`);
  });
});

describe('work root', () => {
  it('runs a job naming no cwd in its own scratch directory, owned by its user; one naming a cwd under the work root', async () => {
    // The scratch directory is beside the state dir when jobs run as another user (the state dir stays 0700).
    const scratchRoot = runAsNobody ? `${realpathSync(agent.stateDir)}-work` : join(realpathSync(agent.stateDir), 'work');
    env.onCleanup(() => rmSync(scratchRoot, { recursive: true, force: true }));
    const writes = ['sh', '-c', 'pwd; echo "$DROVER_WORK_DIR"; touch made-here && id -un && stat -c %U made-here .'];
    const here = await h.trigger(await h.createJob({ name: 'pwd-root', executor: { type: 'exec', command: writes } }));
    const sub = await h.trigger(await h.createJob({ name: 'pwd-sub', executor: { type: 'exec', command: ['pwd'], cwd: 'jobs/report' } }));
    expect((await h.waitForRun(here)).state).toBe('succeeded');
    expect((await h.waitForRun(sub)).state).toBe('succeeded');
    const user = runAsNobody ? 'nobody' : spawnSync('id', ['-un'], { encoding: 'utf8' }).stdout.trim();
    const scratch = join(scratchRoot, `${here}-1`);
    expect(await output(here)).toBe(`${scratch}\n${scratch}\n${user}\n${user}\n${user}\n`);
    expect(await output(sub)).toBe(`${join(root, 'jobs/report')}\n`);
  });

  it('refuses a job whose cwd climbs out with "..", naming the field', async () => {
    const res = await client.post<Problem>('/v1/jobs', {
      name: 'climb',
      executor: { type: 'exec', command: ['pwd'], cwd: 'jobs/../../outside' },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]).toMatchObject({ field: 'executor.cwd' });
    expect(res.body.detail).toMatch(/executor\.cwd: "jobs\/\.\.\/\.\.\/outside" climbs out with "\.\."/);
  });

  it('fails an attempt whose cwd leads out of the root through a symlink, or is absolute elsewhere, saying so', async () => {
    for (const [name, cwd] of [
      ['symlink-escape', 'escape'],
      ['absolute-escape', '/etc'],
    ] as const) {
      const run = await h.waitForRun(await h.trigger(await h.createJob({ name, executor: { type: 'exec', command: ['pwd'], cwd } })));
      expect(run.state).toBe('failed');
      expect(run.error).toMatch(new RegExp(`cwd ${cwd} is outside the agent's work root ${root}`));
      expect(await output(run.id)).toBe('');
    }
  });
});

describe.runIf(isRoot && nobodyUid !== undefined)('run as (the tests run as root)', () => {
  it("runs attempts as the configured user: the process's uid is nobody's", async () => {
    const run = await h.waitForRun(
      await h.trigger(await h.createJob({ name: 'whoami', executor: { type: 'exec', command: ['id', '-u'] } })),
    );
    expect(run.state, JSON.stringify(run)).toBe('succeeded');
    expect(await output(run.id)).toBe(`${nobodyUid}\n`);
  });

  it("a job cannot read the agent's initial environment (/proc/<pid>/environ), its key or its state dir", async () => {
    const keyFile = join(agent.stateDir, 'agent-key');
    const script = [
      `cat /proc/${agent.proc.pid}/environ; echo "environ $?"`,
      `cat ${keyFile}; echo "key $?"`,
      `ls ${agent.stateDir}; echo "dir $?"`,
      // The job's own environment lacks the agent's DROVER_* settings as well.
      `env | grep -c DROVER_CANARY; true`,
    ].join('\n');
    const run = await h.waitForRun(
      await h.trigger(await h.createJob({ name: 'steal', executor: { type: 'exec', command: ['sh', '-c', script] } })),
    );
    const stdout = await output(run.id);
    const stderr = await output(run.id, 'stderr');
    expect(stdout.split('\n')).toEqual(['environ 1', 'key 1', 'dir 2', '0', '']);
    expect(stdout + stderr).not.toContain(CANARY);
    expect(stdout + stderr).not.toContain('PRIVATE KEY');
    expect(stderr).toContain(`/proc/${agent.proc.pid}/environ: Permission denied`);
    expect(stderr).toContain(`${keyFile}: Permission denied`);
    // The test (root) can read both: the job was refused by its uid, not by a wrong path.
    expect(readFileSync(`/proc/${agent.proc.pid}/environ`, 'utf8')).toContain(CANARY);
    expect(readFileSync(keyFile, 'utf8')).toContain('PRIVATE KEY');
  });

  it('an agent told to run as a user that does not exist refuses to start, naming the setting', async () => {
    const bad = spawnDrover(env, ['agent', '--run-as', 'no-such-user-drover']);
    expect((await bad.exited).code).not.toBe(0);
    expect(bad.tail()).toContain('--run-as (DROVER_RUN_AS): no user "no-such-user-drover" on this host');
  });
});

describe('an agent whose jobs would run as its own user', () => {
  it('refuses to start, saying why and what to do, unless --allow-same-user', async () => {
    const same = spawnDrover(env, ['agent'], { name: 'agent-same-user' });
    expect((await same.exited).code).not.toBe(0);
    expect(same.tail()).toMatch(
      /any job could read this agent's credentials: its join token and NATS password through \/proc\/\d+\/environ/,
    );
    expect(same.tail()).toMatch(
      /Run the agent as root with --run-as <unprivileged user>.*--allow-same-user \(DROVER_ALLOW_SAME_USER=true\)/,
    );
    expect(same.lines.some((l) => l.json?.msg === 'agent starting')).toBe(false);
  });
});
