// `drover tokens create|ls|revoke`: API tokens, through @drover/client (an admin token is needed).
import type { Command } from 'commander';
import { ok } from '@drover/client';
import { addClientOptions, clientAction, UsageError } from './context.js';
import { formatTable } from '../../output/table.js';
import { relativeTime } from '../../output/units.js';

const ROLES = ['admin', 'operator', 'submitter', 'viewer', 'agent'] as const;
type Role = (typeof ROLES)[number];

const collect = (value: string, previous: string[] = []) => [
  ...previous,
  ...value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
];

export function registerTokenCommands(program: Command): void {
  const tokens = addClientOptions(program.command('tokens').description('create, list and revoke API tokens (admin)'));

  tokens
    .command('create')
    .description('create a token; it is printed this once only')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .option('--namespace <ns>', 'a namespace it may see and act in; repeat, or a comma list (not for admin)', collect)
    .option('--name <name>', 'what it is for (default: the role)')
    .option('--expires <duration>', 'expire after this long, e.g. 30d or 12h (default: never)')
    .action(
      clientAction(async (ctx, flags: { role: string; namespace?: string[]; name?: string; expires?: string }) => {
        if (!ROLES.includes(flags.role as Role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
        const created = ok(
          await ctx.client.POST('/v1/tokens', {
            body: {
              role: flags.role as Role,
              ...(flags.namespace ? { namespaces: flags.namespace } : {}),
              ...(flags.name ? { name: flags.name } : {}),
              ...(flags.expires ? { expiresIn: flags.expires } : {}),
            },
          }),
        );
        if (ctx.output === 'json') return ctx.printJson(created);
        ctx.print(
          `${created.token}\n\n` +
            `token ${created.id} (${created.name}): role ${created.role}` +
            `${created.namespaces.length > 0 ? `, namespaces ${created.namespaces.join(', ')}` : ', every namespace'}` +
            `${created.expiresAt ? `, expires ${created.expiresAt}` : ''}.\n` +
            `This is the only time it is shown: keep it now (${
              created.role === 'agent' ? 'an agent reads it from DROVER_JOIN_TOKEN=… or --join-token-file' : 'e.g. export DROVER_TOKEN=…'
            }). Revoke it with drover tokens revoke ` +
            `${created.id}.\n`,
        );
      }),
    );

  tokens
    .command('ls')
    .description('list tokens (never their secrets)')
    .option('--namespace <ns>', 'only tokens of this namespace')
    .action(
      clientAction(async (ctx, flags: { namespace?: string }) => {
        const page = ok(await ctx.client.GET('/v1/tokens', { params: { query: flags.namespace ? { namespace: flags.namespace } : {} } }));
        if (ctx.output === 'json') return ctx.printJson(page.items);
        const now = ctx.now();
        ctx.print(
          formatTable(
            page.items,
            [
              { header: 'ID', value: (t) => t.id },
              { header: 'NAME', value: (t) => t.name, max: 32 },
              { header: 'ROLE', value: (t) => t.role },
              { header: 'NAMESPACES', value: (t) => (t.namespaces.length > 0 ? t.namespaces.join(',') : '*'), max: 40 },
              {
                header: 'STATE',
                value: (t) => (t.revokedAt ? 'revoked' : t.expiresAt && Date.parse(t.expiresAt) <= now ? 'expired' : 'live'),
              },
              { header: 'EXPIRES', value: (t) => (t.expiresAt ? relativeTime(t.expiresAt, now) : 'never') },
              { header: 'LAST USED', value: (t) => (t.lastUsedAt ? relativeTime(t.lastUsedAt, now) : 'never') },
            ],
            'no tokens: create one with drover tokens create --role viewer --namespace default',
          ),
        );
      }),
    );

  tokens
    .command('revoke')
    .description('revoke a token: it is refused from now on')
    .argument('<id>', 'token id (from drover tokens ls)')
    .action(
      clientAction(async (ctx, id: string) => {
        const token = ok(await ctx.client.DELETE('/v1/tokens/{id}', { params: { path: { id } } }));
        if (ctx.output === 'json') return ctx.printJson(token);
        ctx.print(`token ${token.id} (${token.name}) revoked\n`);
      }),
    );
}
