// The systemd unit and environment file shipped in deploy/systemd: the unit passes
// systemd-analyze (where it exists), and every setting the environment file sets or suggests
// is one the agent knows and accepts, so the file cannot drift from the agent's options.
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { agentSettings, compileAgentOptions } from '@drover/agent';
import { REPO_ROOT } from './support/index.js';

const dir = path.join(REPO_ROOT, 'deploy/systemd');

/** VARIABLE=value lines, commented-out suggestions included. */
function envLines(file: string): Array<[string, string]> {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => /^#?(DROVER_[A-Z_]+)=(.*)$/.exec(l.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1] as string, m[2] as string]);
}

it('sets and suggests only settings the agent knows, with values it accepts', () => {
  const known = new Set([...Object.values(agentSettings).map((s) => s.env), 'DROVER_STATE_DIR']);
  const lines = envLines(path.join(dir, 'agent.env'));
  expect(lines.length).toBeGreaterThan(5);
  for (const [name] of lines) expect(known, name).toContain(name);
  const options = compileAgentOptions({ flags: {}, env: Object.fromEntries(lines) });
  expect(options.labels).toEqual({ region: 'eu', pool: 'general' });
  expect(options.allowShell).toBe(true);
  // Jobs run as a user of their own, not as the agent (which could then be robbed of its credentials).
  const set = readFileSync(path.join(dir, 'agent.env'), 'utf8')
    .split('\n')
    .filter((l) => /^DROVER_/.test(l));
  expect(set).toContain('DROVER_RUN_AS=drover-jobs');
  expect(set.some((l) => l.startsWith('DROVER_ALLOW_SAME_USER'))).toBe(false);
});

it('runs the agent as root (to switch to DROVER_RUN_AS) with a state dir only root can read', () => {
  const unit = readFileSync(path.join(dir, 'drover-agent.service'), 'utf8');
  const directives = unit.split('\n').filter((l) => /^[A-Z]\w+=/.test(l));
  expect(directives).toEqual(expect.arrayContaining(['User=root', 'StateDirectory=drover', 'StateDirectoryMode=0700']));
  expect(directives.filter((l) => l.startsWith('User='))).toEqual(['User=root']);
});

it.runIf(existsSync('/usr/bin/systemd-analyze'))('has a unit systemd-analyze accepts', async () => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'drover-unit-'));
  try {
    // systemd-analyze checks that ExecStart exists: point it at a binary this host has.
    const unit = path.join(scratch, 'drover-agent.service');
    copyFileSync(path.join(dir, 'drover-agent.service'), unit);
    writeFileSync(unit, readFileSync(unit, 'utf8').replace('/usr/local/bin/drover agent', `${process.execPath} --version`));
    const { stderr } = await promisify(execFile)('systemd-analyze', ['verify', unit]);
    expect(stderr.trim()).toBe('');
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});
