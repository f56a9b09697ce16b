// `drover` on a Node that is too old: one line saying what is needed, not a stack trace from
// whichever import fails first.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DROVER_BIN } from './support/index.js';

/** The version of the node binary at `bin`, or undefined when there is none. */
function nodeVersion(bin: string): string | undefined {
  if (!existsSync(bin)) return undefined;
  return execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim().replace(/^v/, '');
}

describe('on a Node older than 22.12', () => {
  it('refuses to start with one line that says what is needed, before loading anything', () => {
    // This Node, told it is 20.11 before the bin script runs: the check reads process.versions.
    const preload = `data:text/javascript,Object.defineProperty(process.versions, 'node', { value: '20.11.1' });`;
    const faked = spawnSync(process.execPath, ['--import', preload, DROVER_BIN, 'jobs', 'ls'], { encoding: 'utf8' });
    expect(faked.status).toBe(1);
    expect(faked.stdout).toBe('');
    expect(faked.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^drover: Node\.js 22\.12 or later is required, this is 20\.11\.1 /),
    ]);
  });

  // Debian's own nodejs package is older than 22 on this machine: the case a newcomer meets.
  const system = '/usr/bin/node';
  const version = nodeVersion(system);
  it.runIf(version !== undefined && Number(version.split('.')[0]) < 22)(`says so on the system's Node (${version})`, () => {
    const old = spawnSync(system, [DROVER_BIN, 'dev'], { encoding: 'utf8' });
    expect(old.status).toBe(1);
    expect(old.stderr).toBe(
      `drover: Node.js 22.12 or later is required, this is ${version} (${system}): install Node 22, or on Debian run .ci/run, which puts one in .ci/node\n`,
    );
  });
});
