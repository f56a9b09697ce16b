// `drover secrets set|ls|rm`: secrets, through @drover/client. A value is read from stdin or a
// file, never from the command line (process lists and shell history keep those), and never printed.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ok } from '@drover/client';
import { addClientOptions, clientAction, UsageError } from './context.js';
import { formatTable } from '../../output/table.js';
import { relativeTime } from '../../output/units.js';

/** The value to set: the file's or stdin's content, without one trailing newline (what `echo` and editors add). */
function readValue(file: string | undefined): string {
  if (file === undefined && process.stdin.isTTY)
    throw new UsageError(
      'pipe the value in (drover secrets set NAME < file, or printf %s "$VALUE" | drover secrets set NAME) or give --from-file',
    );
  const text = readFileSync(file ?? 0, 'utf8');
  const value = text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
  if (value === '') throw new UsageError(`the value ${file === undefined ? 'on stdin' : `in ${file}`} is empty`);
  return value;
}

export function registerSecretCommands(program: Command): void {
  const secrets = addClientOptions(program.command('secrets').description('set, list and delete secrets (values are never shown)'));

  secrets
    .command('set')
    .description('set a secret from stdin or a file; jobs use it as "env": { "VAR": { "secret": "<name>" } }')
    .argument('<name>', 'the secret name')
    .option('--namespace <ns>', 'its namespace (default: default)')
    .option('--from-file <path>', 'read the value from this file instead of stdin')
    .action(
      clientAction(async (ctx, name: string, flags: { namespace?: string; fromFile?: string }) => {
        const value = readValue(flags.fromFile);
        const res = await ctx.client.PUT('/v1/secrets/{name}', {
          params: { path: { name } },
          body: { value, ...(flags.namespace ? { namespace: flags.namespace } : {}) },
        });
        ok(res);
        const created = res.response.status === 201;
        if (ctx.output === 'json') return ctx.printJson({ name, namespace: flags.namespace ?? 'default', created });
        ctx.print(`secret ${name} ${created ? 'created' : 'replaced'} in namespace ${flags.namespace ?? 'default'}\n`);
      }),
    );

  secrets
    .command('ls')
    .description('list secrets: names, namespaces and times')
    .option('--namespace <ns>', 'only secrets of this namespace')
    .action(
      clientAction(async (ctx, flags: { namespace?: string }) => {
        const page = ok(await ctx.client.GET('/v1/secrets', { params: { query: flags.namespace ? { namespace: flags.namespace } : {} } }));
        if (ctx.output === 'json') return ctx.printJson(page.items);
        const now = ctx.now();
        ctx.print(
          formatTable(
            page.items,
            [
              { header: 'NAMESPACE', value: (s) => s.namespace, max: 40 },
              { header: 'NAME', value: (s) => s.name, max: 60 },
              { header: 'UPDATED', value: (s) => relativeTime(s.updatedAt, now) },
              { header: 'CREATED', value: (s) => relativeTime(s.createdAt, now) },
            ],
            'no secrets: set one with printf %s "$VALUE" | drover secrets set NAME',
          ),
        );
      }),
    );

  secrets
    .command('rm')
    .description('delete a secret; jobs that use it wait (queued, with the reason) until it is set again')
    .argument('<name>', 'the secret name')
    .option('--namespace <ns>', 'its namespace (default: default)')
    .action(
      clientAction(async (ctx, name: string, flags: { namespace?: string }) => {
        ok(
          await ctx.client.DELETE('/v1/secrets/{name}', {
            params: { path: { name }, query: flags.namespace ? { namespace: flags.namespace } : {} },
          }),
        );
        if (ctx.output === 'json') return ctx.printJson({ name, namespace: flags.namespace ?? 'default', deleted: true });
        ctx.print(`secret ${name} deleted from namespace ${flags.namespace ?? 'default'}\n`);
      }),
    );
}
