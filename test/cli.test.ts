// The `drover` client verbs against a real coordinator and agent: what an operator types and
// reads. Every command runs as its own process, talking to the API through @drover/client.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '@drover/coordinator';
import {
  api,
  createTestEnv,
  DROVER_BIN,
  spawnDrover,
  spawnInEnv,
  startAgent,
  startCoordinator,
  startReceiver,
  waitFor,
  type ApiClient,
  type DroverProcess,
  type StartedAgent,
  type TestEnv,
} from './support/index.js';

let env: TestEnv;
let client: ApiClient;
let addr: string;
let agent: StartedAgent;
let dir: string;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

const text = (proc: DroverProcess, stream: 'stdout' | 'stderr') =>
  proc.lines
    .filter((l) => l.stream === stream)
    .map((l) => l.text)
    .join('\n');

/** Starts `drover <args>` pointed at the test coordinator (DROVER_ADDR), without waiting. */
function start(args: string[], extraEnv: Record<string, string> = {}): DroverProcess {
  return spawnDrover(env, args, { name: `drover ${args.slice(0, 2).join(' ')}`, env: { DROVER_ADDR: addr, ...extraEnv } });
}

/** Runs `drover <args>` to its end. */
async function drover(args: string[], extraEnv: Record<string, string> = {}): Promise<Result> {
  const proc = start(args, extraEnv);
  const { code } = await proc.exited;
  return { code, stdout: text(proc, 'stdout'), stderr: text(proc, 'stderr') };
}

/** `drover <args> -o json`, parsed; fails with the command's stderr when it did not succeed. */
async function droverJson<T>(args: string[]): Promise<T> {
  const r = await drover([...args, '-o', 'json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

beforeAll(async () => {
  env = await createTestEnv();
  const coordinator = await startCoordinator(env);
  addr = coordinator.url;
  client = api(addr);
  agent = await startAgent(env, { labels: { region: 'eu' }, slots: 2, name: 'agent-cli' });
  dir = mkdtempSync(join(tmpdir(), 'drover-cli-test-'));
  env.onCleanup(() => rmSync(dir, { recursive: true, force: true }));
});
afterAll(async () => env?.cleanup());

describe('drover jobs apply', () => {
  it('creates the jobs of a multi-document YAML file, leaves them unchanged, and updates one to match its file', async () => {
    const file = join(dir, 'jobs.yaml');
    const yaml = (greeting: string, timeout: string) =>
      [
        'name: cli-greet',
        'executor:',
        '  type: exec',
        `  command: [sh, -c, 'echo "${greeting} $DROVER_PARAM_WHO"']`,
        'parameters: { who: world }',
        ...(timeout ? [`timeout: ${timeout}`] : []),
        '---',
        'name: cli-other',
        'executor: { type: noop }',
        'disconnect: { mode: stop, after: 2m }',
        '',
      ].join('\n');
    writeFileSync(file, yaml('hello', '1h'));

    const first = await drover(['jobs', 'apply', '-f', file]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout.split('\n')).toEqual(['cli-greet: created', 'cli-other: created']);

    const again = await drover(['jobs', 'apply', '-f', file]);
    expect(again.stdout.split('\n')).toEqual(['cli-greet: unchanged', 'cli-other: unchanged']);

    // The file is the whole truth: a field taken out of it is taken off the job.
    writeFileSync(file, yaml('hi', ''));
    const changed = await drover(['jobs', 'apply', '-f', file]);
    expect(changed.stdout.split('\n')).toEqual(['cli-greet: updated', 'cli-other: unchanged']);
    const job = (await client.get<Record<string, unknown>>('/v1/jobs/cli-greet')).body;
    expect(job.timeout).toBeUndefined();
    expect(job.executor).toEqual({ type: 'exec', command: ['sh', '-c', 'echo "hi $DROVER_PARAM_WHO"'] });
    expect((await client.get<Record<string, unknown>>('/v1/jobs/cli-other')).body.disconnect).toEqual({ mode: 'stop', after: '2m' });

    const listed = await drover(['jobs', 'ls']);
    expect(listed.stdout).toMatch(/^NAME\s+ID\s+EXECUTOR/);
    expect(listed.stdout).toMatch(/\ncli-greet\s+\w{26}\s+exec\s+manual\s+active/);
  });

  it('prints each offending field of a definition the API refuses, and exits 1', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'name: cli-bad\nexecutor: { type: exec, command: [] }\ntimeout: forever\ndisconnect: { after: 1s }\n');
    const r = await drover(['jobs', 'apply', '-f', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('job "cli-bad" was not applied');
    expect(r.stderr).toMatch(/^ {2}executor\.command: .+$/m);
    expect(r.stderr).toMatch(/^ {2}timeout: "forever" is not a positive duration/m);
    expect(r.stderr).toMatch(/^ {2}disconnect\.after: "1s" is shorter than 5s/m);
    expect((await client.get('/v1/jobs/cli-bad')).status).toBe(404);
  });
});

describe('drover jobs run and logs', () => {
  it('passes --param to the run, and -o json prints the run as the API returns it', async () => {
    const run = await droverJson<{ id: string; state: string; parameters: Record<string, string> }>([
      'jobs',
      'run',
      'cli-greet',
      '--param',
      'who=operator',
    ]);
    expect(run.id).toMatch(/^\w{26}$/);
    expect(run.parameters).toEqual({ who: 'operator' });

    const logs = await drover(['logs', run.id, '-f']);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toBe('hi operator');

    const got = await droverJson<{ id: string; state: string; attempts: Array<{ outcome: string; exitCode: number }> }>([
      'runs',
      'get',
      run.id,
    ]);
    expect(got).toMatchObject({ id: run.id, state: 'succeeded' });
    expect(got.attempts).toMatchObject([{ outcome: 'succeeded', exitCode: 0 }]);

    const table = await drover(['runs', 'get', run.id]);
    expect(table.stdout).toMatch(/^state:\s+succeeded$/m);
    expect(table.stdout).toMatch(/^job:\s+cli-greet \(\w{26}\)$/m);
    expect(table.stdout).toContain('LAST LINES\n  hi operator');

    const listed = await drover(['runs', 'ls', '--job', 'cli-greet', '--state', 'succeeded']);
    expect(listed.stdout).toMatch(new RegExp(`\\n${run.id}\\s+cli-greet\\s+succeeded\\s+manual\\s+1\\s`));
  });

  it('logs -f prints output as it arrives and returns when the run ends', async () => {
    // The run cannot end before the test opens the gate, so "line 1 arrived while it still ran"
    // is a fact, not a race.
    const gate = join(dir, 'gate');
    const file = join(dir, 'gated.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'cli-gated',
        executor: {
          type: 'exec',
          command: ['sh', '-c', 'echo line 1; while [ ! -e "$GATE" ]; do sleep 0.1; done; echo line 2 >&2; echo line 3'],
          env: { GATE: gate },
        },
      }),
    );
    expect((await drover(['jobs', 'apply', '-f', file])).stdout).toBe('cli-gated: created');
    const run = await droverJson<{ id: string }>(['jobs', 'run', 'cli-gated']);

    const follow = start(['logs', run.id, '-f']);
    await follow.waitForLine((l) => l.text === 'line 1');
    expect(follow.exitStatus).toBeUndefined();
    writeFileSync(gate, '');
    expect(await follow.exited).toEqual({ code: 0, signal: null });
    expect(text(follow, 'stdout').split('\n')).toEqual(['line 1', 'line 3']);
    expect(text(follow, 'stderr')).toBe('line 2');
    expect(existsSync(gate)).toBe(true);
  });

  it('jobs run --follow exits 1 and says how the run ended when it did not succeed', async () => {
    const file = join(dir, 'failing.yaml');
    writeFileSync(file, "name: cli-fails\nexecutor: { type: exec, command: [sh, -c, 'echo about to fail; exit 3'] }\n");
    await drover(['jobs', 'apply', '-f', file]);
    const r = await drover(['jobs', 'run', 'cli-fails', '--follow']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('about to fail');
    expect(r.stderr).toMatch(/drover: run \w{26} ended failed: exited with code 3/);
  });

  it("logs writes a run's control characters escaped at a terminal, as stored to a pipe or with --raw", async () => {
    const file = join(dir, 'controls.json');
    writeFileSync(
      file,
      JSON.stringify({ name: 'cli-controls', executor: { type: 'exec', command: ['printf', '%s\\n', '\x1b[31mred\x1b[0m \u202Eevil'] } }),
    );
    await drover(['jobs', 'apply', '-f', file]);
    const run = await droverJson<{ id: string }>(['jobs', 'run', 'cli-controls']);
    expect((await drover(['logs', run.id, '-f'])).code).toBe(0);

    // A pipe gets the bytes as stored, and -o json is the API's chunk.
    expect((await drover(['logs', run.id])).stdout).toBe('\x1b[31mred\x1b[0m \u202Eevil');
    const json = JSON.parse((await drover(['logs', run.id, '-o', 'json'])).stdout) as { data: string };
    expect(json.data).toBe('\x1b[31mred\x1b[0m \u202Eevil\n');

    // At a terminal (script(1) gives drover a pseudo-terminal), escaped unless --raw.
    const atTerminal = async (...extra: string[]) => {
      const cmd = [process.execPath, DROVER_BIN, 'logs', run.id, ...extra].join(' ');
      const proc = spawnInEnv(env, 'script', ['-qec', cmd, '/dev/null'], { name: 'script', env: { DROVER_ADDR: addr } });
      expect((await proc.exited).code).toBe(0);
      return text(proc, 'stdout');
    };
    const escaped = await atTerminal();
    expect(escaped).toContain('\\x1b[31mred\\x1b[0m \\u202eevil');
    expect(escaped).not.toContain('\x1b');
    expect(escaped).not.toContain('\u202e');
    expect(await atTerminal('--raw')).toContain('\x1b[31mred\x1b[0m \u202Eevil');
  });

  it('refuses a --param without =, before asking the coordinator anything (exit 2)', async () => {
    const r = await drover(['jobs', 'run', 'cli-greet', '--param', 'who']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('drover: --param "who" is not NAME=VALUE; write e.g. --param day=2026-01-01');
  });

  it('refuses a run state that does not exist as a mistake on the command line (exit 2), listing the states', async () => {
    const r = await drover(['runs', 'ls', '--state', 'failed,bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'drover: --state: "bogus" is not a run state; use one or more of pending, queued, offered, running, retrying, succeeded, failed, timed_out, cancelled, lost, expired, skipped',
    );
  });

  it('filters runs by state with ?state=, as dead letters do; the old ?status= and --status still work, marked deprecated', async () => {
    const byState = await client.get<{ items: Array<{ state: string }> }>('/v1/runs?job=cli-greet&state=succeeded');
    expect(byState.status).toBe(200);
    expect(byState.headers.get('deprecation')).toBeNull();
    expect(byState.body.items.length).toBeGreaterThan(0);
    expect(byState.body.items.every((r) => r.state === 'succeeded')).toBe(true);
    const old = await client.get<{ items: unknown[] }>('/v1/runs?job=cli-greet&status=succeeded');
    expect([old.status, old.headers.get('deprecation'), old.body.items.length]).toEqual([200, 'true', byState.body.items.length]);
    expect((await client.get('/v1/runs?state=failed&status=failed')).status).toBe(400);
    const flag = await drover(['runs', 'ls', '--job', 'cli-greet', '--status', 'succeeded']);
    expect(flag.code).toBe(0);
    expect(flag.stderr).toBe('drover: --status is deprecated and goes in 0.2: use --state');
    expect(flag.stdout).toContain('succeeded');
  });

  it('lists a run with its whole reason, however long, never cut', async () => {
    const reason = `no agent matches label.region = ${'far-away-'.repeat(8)}region`;
    const jobId = await client.post<{ id: string }>('/v1/jobs', {
      name: 'cli-unplaceable',
      executor: { type: 'exec', command: ['true'] },
      constraints: [{ attribute: 'label.region', operator: '=', value: `${'far-away-'.repeat(8)}region` }],
    });
    const run = await client.post<{ id: string }>(`/v1/jobs/${jobId.body.id}/runs`, {});
    const listed = await waitFor(async () => {
      const r = await drover(['runs', 'ls', '--job', 'cli-unplaceable']);
      return r.stdout.includes(reason) ? r : undefined;
    });
    expect(listed.stdout.split('\n')[1]).toMatch(new RegExp(`^${run.body.id} .*${reason.replace(/\./g, '\\.')}$`));
    await client.post(`/v1/runs/${run.body.id}/cancel`, {});
  });
});

describe('drover agents and fleet', () => {
  it('lists the agent in a table and as JSON', async () => {
    const table = await drover(['agents', 'ls']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^NAME\s+ID\s+STATE\s+SLOTS FREE/);
    expect(table.stdout).toMatch(new RegExp(`\\n\\S+\\s+${agent.agentId}\\s+ready\\s+\\d/2\\s.*region=eu`));

    const items = await droverJson<Array<{ id: string; labels: Record<string, string> }>>(['agents', 'ls', '--state', 'ready']);
    expect(items.map((a) => a.id)).toEqual([agent.agentId]);
    expect(items[0]?.labels).toEqual({ region: 'eu' });

    const fleet = await drover(['fleet']);
    expect(fleet.stdout).toMatch(/^agents:\s+1 \(1 ready\)$/m);
  });

  it('whoami says the role, the namespaces and how the coordinator authenticates', async () => {
    const me = await drover(['whoami']);
    expect(me.code, me.stderr).toBe(0);
    expect(me.stdout).toMatch(/^role:\s+admin$/m);
    expect(me.stdout).toMatch(/^namespaces:\s+all$/m);
    expect(me.stdout).toMatch(/^auth:\s+insecure \(no tokens/m);
    expect(await droverJson(['whoami'])).toEqual({
      role: 'admin',
      namespaces: 'all',
      actor: 'anonymous',
      tokenId: null,
      authMode: 'insecure',
    });
  });

  it('cordons and uncordons an agent', async () => {
    expect((await drover(['agents', 'cordon', agent.agentId])).stdout).toMatch(/: cordoned$/);
    expect((await drover(['agents', 'uncordon', agent.agentId])).stdout).toMatch(/: ready$/);
  });
});

describe('errors an operator can act on', () => {
  it('an unknown id: the API says what is missing and which verb lists what exists', async () => {
    const r = await drover(['runs', 'get', '01NOSUCHRUN']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('drover: no run with id "01NOSUCHRUN"; list runs with drover runs ls (404 Not Found)');
    const j = await drover(['jobs', 'get', 'no-such-job', '-o', 'json']);
    expect(j.code).toBe(1);
    expect(j.stdout).toBe('');
    expect(j.stderr).toContain('no job with id "no-such-job"');
  });

  it('an unreachable coordinator: names the address and what to do', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const r = await drover(['jobs', 'ls'], { DROVER_ADDR: `127.0.0.1:${port}` });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `drover: cannot reach the Drover coordinator at http://127.0.0.1:${port}: connection refused — is it running? set DROVER_ADDR or --addr to its address`,
    );
  });

  it("tells where an agent's join token goes: DROVER_JOIN_TOKEN, not DROVER_TOKEN", async () => {
    const agentToken = await drover(['tokens', 'create', '--role', 'agent']);
    expect(agentToken.code, agentToken.stderr).toBe(0);
    expect(agentToken.stdout).toContain('an agent reads it from DROVER_JOIN_TOKEN=… or --join-token-file');
    expect(agentToken.stdout).not.toContain('DROVER_TOKEN');
    const adminToken = await drover(['tokens', 'create', '--role', 'admin']);
    expect(adminToken.stdout).toContain('export DROVER_TOKEN=…');
  });

  it('sends DROVER_TOKEN as a bearer token', async () => {
    const receiver = await startReceiver(env);
    await drover(['fleet', '--addr', new URL(receiver.url).origin], { DROVER_TOKEN: 's3cret' });
    expect(receiver.requests.map((r) => [r.method, r.url, r.headers.authorization])).toEqual([['GET', '/v1/fleet', 'Bearer s3cret']]);
  });
});

describe('the document the client is generated from', () => {
  it('is the one a running coordinator serves', async () => {
    const served = (await client.get('/openapi.json')).body;
    expect(await openApiDocument()).toEqual(served);
  });
});
