// `drover config-reference`: prints the settings reference (or writes it into a page's
// `<!-- config:start -->` section, as `npm run docs:config` does for docs/configuration.md).
import type { Command } from 'commander';
import { configReference } from '../docs/config-reference.js';
import { updateSection } from '../docs/markdown.js';

export function registerDocsCommand(program: Command): void {
  program
    .command('config-reference')
    .description('print the configuration reference of every process, as Markdown')
    .option('--update <page>', 'rewrite the section between the config markers of this Markdown page instead')
    .action((flags: { update?: string }) => {
      if (flags.update)
        process.stdout.write(
          updateSection(flags.update, 'config', configReference()) ? `updated ${flags.update}\n` : `${flags.update} is up to date\n`,
        );
      else process.stdout.write(`${configReference()}\n`);
    });
}
