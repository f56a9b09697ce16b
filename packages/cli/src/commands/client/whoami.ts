// `drover whoami`: what the coordinator makes of DROVER_TOKEN, through @drover/client.
import type { Command } from 'commander';
import { ok, type Whoami } from '@drover/client';
import { addClientOptions, clientAction } from './context.js';
import { formatFields } from '../../output/table.js';

const AUTH_MODES: Record<Whoami['authMode'], string> = {
  tokens: 'tokens (every call needs one)',
  insecure: 'insecure (no tokens: every caller is admin)',
  dev: 'dev (no tokens: every caller is admin)',
};

/** The caller's identity as a few lines. */
export function formatWhoami(whoami: Whoami): string {
  return formatFields([
    ['role', whoami.role],
    ['namespaces', whoami.namespaces === 'all' ? 'all' : whoami.namespaces.join(', ') || '(none)'],
    ['actor', whoami.actor],
    ['auth', AUTH_MODES[whoami.authMode]],
  ]);
}

export function registerWhoamiCommand(program: Command): void {
  addClientOptions(program.command('whoami').description("the token's role and namespaces, as the coordinator sees them")).action(
    clientAction(async (ctx) => {
      const me = ok(await ctx.client.GET('/v1/whoami'));
      if (ctx.output === 'json') return ctx.printJson(me);
      ctx.print(formatWhoami(me));
    }),
  );
}
