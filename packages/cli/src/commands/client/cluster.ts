// `drover cluster key`: the cluster's public key (GET /v1/cluster/key, admin), to pin on an
// agent before its first join: `drover agent --coordinator-key <key>`.
import type { Command } from 'commander';
import { ok } from '@drover/client';
import { addClientOptions, clientAction } from './context.js';

export function registerClusterCommands(program: Command): void {
  const cluster = program.command('cluster').description("the cluster's own settings");
  addClientOptions(
    cluster
      .command('key')
      .description("the cluster's public key, for drover agent --coordinator-key (DROVER_COORDINATOR_KEY)")
      .option('--pem', 'print it as a PEM PUBLIC KEY'),
  ).action(
    clientAction(async (ctx, opts: { pem?: boolean }) => {
      const key = ok(await ctx.client.GET('/v1/cluster/key'));
      if (ctx.output === 'json') return ctx.printJson(key);
      ctx.print(opts.pem ? key.pem.trimEnd() : key.publicKey);
    }),
  );
}
