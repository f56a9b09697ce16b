// The process commands as a person meets them at start: `--help`, the log format, and where
// `drover dev` reads its settings from.
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, DROVER_BIN, freePort, makeStateDir, spawnDrover, type TestEnv } from './support/index.js';

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(async () => env?.cleanup());

describe('--help', () => {
  it.each(['coordinator', 'agent', 'dev'])('of drover %s names what each flag takes', (command) => {
    const help = execFileSync(process.execPath, [DROVER_BIN, command, '--help'], { encoding: 'utf8' });
    expect(help).not.toContain('<value>');
    expect(help).toMatch(/--log-format <auto\|json\|pretty>/);
    expect(help).toMatch(/--api-addr <host:port>|--nats <url>/);
  });
});

describe('process logs', () => {
  it('are pretty lines for a person with --log-format pretty, for the coordinator and the agent alike', async () => {
    const coordinator = spawnDrover(env, ['coordinator', '--insecure', '--api-addr', '127.0.0.1:0', '--log-format', 'pretty'], {
      name: 'pretty-coordinator',
    });
    const listening = await coordinator.waitForLine((l) => l.text.includes('api listening'), 120_000);
    expect(listening.json).toBeUndefined();
    expect(listening.text).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: \[coordinator\] api listening$/);
    await coordinator.stop();

    const agent = spawnDrover(env, ['agent', '--allow-same-user', '--log-format', 'pretty'], { name: 'pretty-agent' });
    const waiting = await agent.waitForLine((l) => l.text.includes('waiting for a coordinator'), 120_000);
    expect(waiting.json).toBeUndefined();
    expect(waiting.text).toMatch(/INFO: \[agent\] waiting for a coordinator/);
    await agent.stop();
  }, 240_000);

  it('are JSON by default when stdout is not a terminal, for log shippers', async () => {
    const agent = spawnDrover(env, ['agent', '--allow-same-user'], { name: 'json-agent' });
    const line = await agent.waitForLine((l) => l.text.includes('waiting for a coordinator'), 120_000);
    expect(line.json).toMatchObject({ role: 'agent', msg: expect.stringContaining('waiting for a coordinator') });
    await agent.stop();
  }, 240_000);
});

/**
 * Dev mode on the test's PostgreSQL, through dev's own variable: embedded PostgreSQL's first
 * start is the slow part of `drover dev`, and not what these tests are about.
 */
const onTestDatabase = () => ({ DROVER_DEV_DATABASE_URL: env.databaseUrl });

describe('drover dev settings', () => {
  it('take the API address from DROVER_API_ADDR when no flag is given, as drover coordinator does', async () => {
    const port = await freePort();
    const dev = spawnDrover(env, ['dev', '--ephemeral', '--no-examples'], {
      name: 'dev-env-addr',
      env: { DROVER_API_ADDR: `127.0.0.1:${port}`, ...onTestDatabase() },
    });
    await dev.waitForLine((l) => l.text.includes('Drover is running'), 150_000);
    expect(dev.lines.map((l) => l.text).join('\n')).toContain(`API        http://127.0.0.1:${port}`);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    await dev.stop();
  }, 240_000);

  it('take a flag over the environment, and refuse a bad --config value as a usage error (exit 2)', async () => {
    const dir = makeStateDir(env, 'dev-config');
    const config = path.join(dir, 'dev.json');
    writeFileSync(config, JSON.stringify({ 'api-addr': 'not-an-address' }));
    const bad = spawnSync(process.execPath, [DROVER_BIN, 'dev', '--ephemeral', '--config', config], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(
      /^drover: invalid api-addr in .*dev\.json \(--api-addr, DROVER_API_ADDR\): "not-an-address" must be host:port/,
    );
    // The flag wins over both, so the file's bad value is never read.
    const port = await freePort();
    const dev = spawnDrover(env, ['dev', '--ephemeral', '--no-examples', '--config', config, '--api-addr', `127.0.0.1:${port}`], {
      name: 'dev-flag-addr',
      env: { DROVER_API_ADDR: '127.0.0.1:1', ...onTestDatabase() },
    });
    await dev.waitForLine((l) => l.text.includes('Drover is running'), 150_000);
    expect(dev.lines.map((l) => l.text).join('\n')).toContain(`API        http://127.0.0.1:${port}`);
    await dev.stop();
  }, 240_000);
});
