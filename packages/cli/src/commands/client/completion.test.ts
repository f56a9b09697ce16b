import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Argument, Command, Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { bashCompletion, commandTree, fishCompletion, zshCompletion } from './completion.js';

function program(): Command {
  const p = new Command('drover');
  const jobs = p.command('jobs').description("define jobs (it's quoted)");
  jobs.addOption(new Option('-o, --output <format>', 'format').choices(['table', 'json']));
  jobs.command('ls').description('list jobs');
  jobs.command('run').description('run a job').option('-p, --param <kv>', 'a parameter').option('-f, --follow', 'follow');
  p.command('completion').addArgument(new Argument('<shell>').choices(['bash', 'zsh', 'fish']));
  return p;
}

/** What bash offers after the given words, by running the generated script. */
function complete(script: string, words: string[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'drover-completion-'));
  writeFileSync(join(dir, 'c.bash'), script);
  const words_ = words.map((w) => `'${w}'`).join(' ');
  const out = execFileSync(
    'bash',
    [
      '-c',
      `source ${dir}/c.bash; COMP_WORDS=(${words_}); COMP_CWORD=${words.length - 1}; _drover_complete; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ],
    { encoding: 'utf8' },
  );
  return out.split('\n').filter(Boolean);
}

describe('completion', () => {
  const tree = commandTree(program());

  it('bash completes commands, subcommands, inherited flags and option values from the tree', () => {
    const script = bashCompletion(tree);
    expect(complete(script, ['drover', ''])).toEqual(['jobs', 'completion', '-h', '--help']);
    expect(complete(script, ['drover', 'jobs', 'r'])).toEqual(['run']);
    expect(complete(script, ['drover', 'jobs', '-o', 'json', 'run', '--'])).toEqual(['--output', '--param', '--follow', '--help']);
    expect(complete(script, ['drover', 'jobs', 'ls', '-o', ''])).toEqual(['table', 'json']);
    expect(complete(script, ['drover', 'completion', 'z'])).toEqual(['zsh']);
  });

  it('zsh and fish scripts carry the same commands and escape quotes', () => {
    const zsh = zshCompletion(tree);
    expect(zsh).toContain(`'jobs:define jobs (it'\\''s quoted)'`);
    expect(zsh).toContain(`"jobs run") cmds=(); opts=('-o:format' '--output:format' '-p:a parameter' '--param:a parameter'`);
    const fish = fishCompletion(tree);
    expect(fish).toContain(
      `complete -c drover -n '__fish_seen_subcommand_from jobs; and not __fish_seen_subcommand_from ls run' -a 'run' -d 'run a job'`,
    );
    expect(fish).toContain(
      `complete -c drover -n '__fish_seen_subcommand_from jobs; and __fish_seen_subcommand_from run' -s p -l param -r -F -d 'a parameter'`,
    );
  });
});
