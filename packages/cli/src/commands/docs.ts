// `drover config-reference`: prints (or writes into the README) the settings reference.
import type { Command } from 'commander';
import { configReference, updateReadme } from '../config-reference.js';

export function registerDocsCommand(program: Command): void {
  program
    .command('config-reference')
    .description('print the configuration reference of every process, as Markdown')
    .option('--update <readme>', 'rewrite the section between the config markers of this README instead')
    .action((flags: { update?: string }) => {
      if (flags.update) process.stdout.write(updateReadme(flags.update) ? `updated ${flags.update}\n` : `${flags.update} is up to date\n`);
      else process.stdout.write(`${configReference()}\n`);
    });
}
