// docs/cli.md: every command of `drover`, read from the command tree that parses argv, so the
// reference cannot list a flag the command does not take. Commander's own Help formats each
// term and description, as `drover <command> --help` does.
import type { Command, Help } from 'commander';
import { cell, table } from './markdown.js';

/** A command's words from the program down, e.g. `drover jobs run`. */
const fullName = (cmd: Command): string => (cmd.parent ? `${fullName(cmd.parent)} ${cmd.name()}` : cmd.name());

/** The commands under `cmd`, depth first, without commander's implicit `help` command. */
function walk(cmd: Command, help: Help): Command[] {
  return help
    .visibleCommands(cmd)
    .filter((c) => c.name() !== 'help')
    .flatMap((c) => [c, ...walk(c, help)]);
}

/** The options of `cmd` worth listing: all but --help, which every command has. */
const ownOptions = (cmd: Command, help: Help) => help.visibleOptions(cmd).filter((o) => o.long !== '--help');

function commandSection(cmd: Command, help: Help): string {
  const name = fullName(cmd);
  const args = help.visibleArguments(cmd).map((a) => [cell(`\`${help.argumentTerm(a)}\``), cell(help.argumentDescription(a))]);
  const opts = ownOptions(cmd, help).map((o) => [cell(`\`${help.optionTerm(o)}\``), cell(help.optionDescription(o))]);
  const subcommands = walk(cmd, help).filter((c) => c.parent === cmd);
  const inherited = cmd.parent?.parent && ownOptions(cmd.parent, help).length > 0 ? fullName(cmd.parent) : undefined;
  return [
    `## \`${name}\``,
    help.commandDescription(cmd),
    ['```text', help.commandUsage(cmd), '```'].join('\n'),
    table(['argument', 'meaning'], args),
    table(['option', 'meaning'], opts),
    inherited ? `The options of [\`${inherited}\`](#${anchor(inherited)}) apply too.` : '',
    subcommands.length > 0 ? `Subcommands: ${subcommands.map((c) => `[\`${c.name()}\`](#${anchor(fullName(c))})`).join(', ')}.` : '',
  ]
    .filter((part) => part !== '')
    .join('\n\n');
}

/** The anchor GitHub gives a `## \`drover jobs run\`` heading. */
const anchor = (name: string): string =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, '')
    .replace(/ /g, '-');

/** Markdown for the whole command tree under `program`. */
export function cliReference(program: Command): string {
  const help = program.createHelp();
  const commands = walk(program, help);
  const index = table(
    ['command', 'what it does'],
    commands.map((c) => [`[\`${fullName(c)}\`](#${anchor(fullName(c))})`, cell(help.subcommandDescription(c))]),
  );
  const global = table(
    ['option', 'meaning'],
    help.visibleOptions(program).map((o) => [cell(`\`${help.optionTerm(o)}\``), cell(help.optionDescription(o))]),
  );
  return [index, `Options of \`${program.name()}\` itself:`, global, ...commands.map((c) => commandSection(c, help))].join('\n\n');
}
