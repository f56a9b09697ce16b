// The agent's least privilege: argv passed verbatim (no shell), working directories confined to
// the work root, attempts run as another user, secrets in the env and masked in the output.
import { spawnSync } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, realpath, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentEvent, FinishedEvent, LogEvent } from '@drover/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execExecutor } from './exec.js';
import { shellExecutor } from './shell.js';
import { createExecutors } from './index.js';
import { confinedCwd } from './process.js';
import { checkJobUser, resolveRunAs, resolveWorkRoot, secureStateDir } from '../run-as.js';
import { Supervisor } from '../supervisor.js';
import { eventually, makeOffer, runToEnd } from '../../test/fixtures.js';

/** Arguments an attacker would love a shell to interpret. */
export const INJECTIONS = [
  '; rm -rf /tmp/x',
  '$(id)',
  '`id`',
  'a\nb',
  '@/etc/passwd',
  '../x',
  '../../etc/shadow',
  '$HOME',
  '"\'',
  '*',
  '|| true &',
  '',
];

describe('exec argv', () => {
  it('reaches the program byte for byte, without a shell', async () => {
    const { result, stdout } = await runToEnd(execExecutor(), { type: 'exec', command: ['printf', '%s\\0', ...INJECTIONS] });
    expect(result.outcome).toBe('succeeded');
    expect(stdout.split('\0').slice(0, -1)).toEqual(INJECTIONS);
  });

  it('treats a program name with shell syntax as a file name', async () => {
    const { result } = await runToEnd(execExecutor(), { type: 'exec', command: ['echo hi; id'] });
    expect(result).toMatchObject({ outcome: 'failed', error: 'spawn echo hi; id ENOENT: program not found' });
  });
});

describe('work root', () => {
  let root: string;
  let outside: string;
  beforeAll(async () => {
    const base = await realpath(await mkdtemp(join(tmpdir(), 'drover-root-')));
    root = join(base, 'work');
    outside = join(base, 'outside');
    await mkdir(join(root, 'jobs/a'), { recursive: true });
    await mkdir(outside);
    await symlink(outside, join(root, 'escape'));
    await symlink(join(root, 'jobs/a'), join(root, 'inside-link'));
  });
  afterAll(async () => {
    await rm(join(root, '..'), { recursive: true, force: true });
  });

  const table: Array<{ cwd: string | undefined; runsIn?: string; refused?: RegExp }> = [
    { cwd: undefined, runsIn: '' },
    { cwd: 'jobs/a', runsIn: 'jobs/a' },
    { cwd: 'inside-link', runsIn: 'jobs/a' },
    { cwd: '../outside', refused: /is outside the agent's work root/ },
    { cwd: 'jobs/../../outside', refused: /is outside the agent's work root/ },
    { cwd: 'escape', refused: /is outside the agent's work root .* \(resolves to .*outside\)/ },
    { cwd: '/etc', refused: /is outside the agent's work root/ },
    { cwd: 'missing', refused: /cwd missing: directory not found/ },
  ];
  for (const t of table) {
    it(`${t.cwd ?? 'no cwd'}: ${t.refused ? 'refused' : `runs in ${t.runsIn || 'the root'}`}`, async () => {
      const { result, stdout, startedAt } = await runToEnd(execExecutor({ workRoot: root }), {
        type: 'exec',
        command: ['/bin/pwd'],
        ...(t.cwd !== undefined ? { cwd: t.cwd } : {}),
      });
      if (t.refused) {
        expect(result.outcome).toBe('failed');
        expect(result.error).toMatch(t.refused);
        expect(startedAt).toBeUndefined();
      } else {
        expect(result.outcome).toBe('succeeded');
        expect(stdout.trim()).toBe(join(root, t.runsIn ?? ''));
      }
    });
  }

  it('an absolute path inside the root is allowed; the shell executor is confined too', async () => {
    expect(await confinedCwd(join(root, 'jobs'), root)).toEqual({ cwd: join(root, 'jobs') });
    const { result } = await runToEnd(shellExecutor({ workRoot: root }), { type: 'shell', script: 'pwd', cwd: 'escape' });
    expect(result.error).toMatch(/outside the agent's work root/);
  });

  it('is created at start-up, and a root that cannot be one stops the agent naming the setting', async () => {
    expect(await resolveWorkRoot(join(root, 'new/deeper'))).toBe(join(root, 'new/deeper'));
    await expect(resolveWorkRoot('/proc/self/status/x')).rejects.toThrow(/--work-root \(DROVER_WORK_ROOT\): cannot use/);
  });
});

const isRoot = process.getuid?.() === 0;
const nobody = spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' });
const nobodyUid = nobody.status === 0 ? Number(nobody.stdout.trim()) : undefined;

describe('run as', () => {
  it('refuses a user that does not exist, naming the setting', () => {
    expect(() => resolveRunAs({ user: 'no-such-user-drover' })).toThrow(
      '--run-as (DROVER_RUN_AS): no user "no-such-user-drover" on this host',
    );
    expect(() => resolveRunAs({ user: 'root' })).toThrow(/is root; name an unprivileged user/);
  });

  it.runIf(isRoot && nobodyUid !== undefined)('runs attempts with the configured uid and gid', async () => {
    const runAs = resolveRunAs({ user: 'nobody' });
    expect(runAs.uid).toBe(nobodyUid);
    const { result, stdout } = await runToEnd(execExecutor({ runAs }), { type: 'exec', command: ['sh', '-c', 'id -u; id -g; echo $USER'] });
    expect(result.outcome).toBe('succeeded');
    expect(stdout.split('\n').slice(0, 3)).toEqual([String(runAs.uid), String(runAs.gid), 'nobody']);
  });

  it("keeps the agent's own DROVER_* settings (credentials) out of the job's environment", async () => {
    process.env.DROVER_JOIN_TOKEN = 'drv_join_secret';
    try {
      const { stdout } = await runToEnd(
        execExecutor(),
        { type: 'exec', command: ['sh', '-c', 'env | grep ^DROVER_ | cut -d= -f1 | sort'] },
        { runId: 'R' },
      );
      expect(stdout.split('\n').filter(Boolean)).toEqual(['DROVER_ATTEMPT', 'DROVER_JOB_ID', 'DROVER_JOB_NAME', 'DROVER_RUN_ID']);
    } finally {
      delete process.env.DROVER_JOIN_TOKEN;
    }
  });

  it.runIf(nobodyUid !== undefined)('refuses to start when the agent cannot switch users', () => {
    // An unprivileged agent (running as nobody) asked to run attempts as another user.
    expect(() => resolveRunAs({ user: 'daemon' }, { uid: nobodyUid!, gid: nobodyUid! })).toThrow(
      /--run-as \(DROVER_RUN_AS\): this agent runs as uid \d+ and cannot switch to daemon .*; run the agent as root \(it drops every privilege/,
    );
    // Root may switch.
    expect(resolveRunAs({ user: 'daemon' }, { uid: 0, gid: 0 }).user).toBe('daemon');
  });
});

describe('secrets on the agent', () => {
  it('gives an attempt its secret env (never rendered as a template) and masks the values in every event', async () => {
    const events: AgentEvent[] = [];
    const s = new Supervisor({
      agentId: 'A',
      total: { slots: 1, cpu: 1, memoryBytes: 2 ** 30 },
      executors: createExecutors({ allowShell: false, allowHttp: false }),
      emit: (e) => events.push(e),
    });
    const offer = makeOffer({
      executor: {
        type: 'exec',
        // Written in two pieces, then whole on stderr, then as the last line.
        command: [
          'sh',
          '-c',
          'head="${TOKEN%????}"; printf "%s" "$head"; sleep 0.05; printf "%s\\n" "${TOKEN#"$head"}"; echo "t=$TOKEN" >&2; echo "{{ param.x }}"; echo "$TOKEN"',
        ],
        env: { PLAIN: 'p' },
      },
      parameters: { x: 'y' },
      secretEnv: { TOKEN: 's3cr3t-{{ param.x }}' },
      logLimitBytes: 1 << 20,
      killGraceMs: 1000,
    });
    s.offer({ offers: [offer] });
    await eventually(() => events.some((e) => e.kind === 'finished'), 10_000, 'the attempt to finish');
    const finished = events.find((e): e is FinishedEvent => e.kind === 'finished');
    const logs = events.filter((e): e is LogEvent => e.kind === 'log');
    expect(finished?.outcome).toBe('succeeded');
    const all = JSON.stringify(events);
    expect(all).not.toContain('s3cr3t');
    expect(
      logs
        .filter((l) => l.stream === 'stderr')
        .map((l) => l.data)
        .join(''),
    ).toBe('t=***\n');
    // stdout and stderr are separate pipes: which of their last lines comes last is not fixed.
    expect([...(finished?.lastLines ?? [])].sort()).toEqual(['***', '***', 't=***', 'y'].sort());
    expect(
      logs
        .filter((l) => l.stream === 'stdout')
        .map((l) => l.data)
        .join(''),
    ).toBe('***\ny\n***\n');
  });
});

/** A user attempts could run as, other than the agent's. */
const other = { user: 'jobs', uid: 4242, gid: 4242, home: '/' };

describe("jobs as the agent's own user", () => {
  it('is refused unless --allow-same-user, saying why and what to do', () => {
    for (const runAs of [undefined, { ...other, uid: 1000 }]) {
      expect(() => checkJobUser({ runAs, allowSameUser: false }, { uid: 1000 })).toThrow(
        /jobs? could read this agent's credentials: its join token and NATS password through \/proc\/\d+\/environ, and its private key in the state dir.*Run the agent as root with --run-as <unprivileged user> \(DROVER_RUN_AS.*--allow-same-user \(DROVER_ALLOW_SAME_USER=true\) for a lab or a container/s,
      );
      expect(checkJobUser({ runAs, allowSameUser: true }, { uid: 1000 })).toBe('same-user-allowed');
    }
    // Root without --run-as runs jobs as root: refused the same way.
    expect(() => checkJobUser({ allowSameUser: false }, { uid: 0 })).toThrow(/the agent's own user \(uid 0\)/);
  });

  it('is fine with another user, and in drover dev', () => {
    expect(checkJobUser({ runAs: other, allowSameUser: false }, { uid: 0 })).toBe('separate');
    expect(checkJobUser({ runAs: other, allowSameUser: true }, { uid: 0 })).toBe('separate');
    expect(checkJobUser({ allowSameUser: false, dev: true }, { uid: 1000 })).toBe('dev');
  });
});

describe('the state dir', () => {
  let base: string;
  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'drover-statedir-'));
  });
  afterAll(async () => rm(base, { recursive: true, force: true }));

  it('is created 0700, and made 0700 when group or others could enter it', async () => {
    const fresh = join(base, 'fresh');
    expect(await secureStateDir(fresh, undefined)).toEqual({ tightened: false });
    expect((await stat(fresh)).mode & 0o777).toBe(0o700);
    const open = join(base, 'open');
    await mkdir(open, { mode: 0o755 });
    await chmod(open, 0o755);
    expect(await secureStateDir(open, undefined)).toEqual({ tightened: true });
    expect((await stat(open)).mode & 0o777).toBe(0o700);
  });

  it.runIf(isRoot)('is refused when the user jobs run as owns it or its key', async () => {
    const theirs = join(base, 'theirs');
    await mkdir(theirs, { mode: 0o700 });
    await chown(theirs, other.uid, other.gid);
    await expect(secureStateDir(theirs, other)).rejects.toThrow(
      /--state-dir \(DROVER_STATE_DIR\): .* is owned by jobs, the user jobs run as/,
    );
    const key = join(base, 'key');
    await mkdir(key, { mode: 0o700 });
    await writeFile(join(key, 'agent-key'), 'x', { mode: 0o600 });
    await chown(join(key, 'agent-key'), other.uid, other.gid);
    await expect(secureStateDir(key, other)).rejects.toThrow(/agent-key is owned by jobs, the user jobs run as/);
  });
});
