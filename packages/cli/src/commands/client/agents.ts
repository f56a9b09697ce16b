// `drover agents ls|get|drain|cordon|uncordon`: the fleet's agents, through @drover/client.
import type { Command } from 'commander';
import { ok, type Agent } from '@drover/client';
import { addClientOptions, clientAction, type ClientContext } from './context.js';
import { formatFields, formatTable, type Column } from '../../output/table.js';
import { humanBytes, instant, relativeTime } from '../../output/units.js';

export const capacity = (free: number, total: number, fmt: (n: number) => string = String) => `${fmt(free)}/${fmt(total)}`;
export const cpu = (cores: number) => String(Math.round(cores * 100) / 100);
const labelText = (labels: Record<string, string>) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

const agentColumns = (now: number): Column<Agent>[] => [
  { header: 'NAME', value: (a) => a.name, max: 32 },
  { header: 'ID', value: (a) => a.id },
  { header: 'STATE', value: (a) => a.state },
  { header: 'SLOTS FREE', value: (a) => capacity(a.free.slots, a.total.slots), right: true },
  { header: 'CPU FREE', value: (a) => capacity(a.free.cpu, a.total.cpu, cpu), right: true },
  { header: 'MEM FREE', value: (a) => capacity(a.free.memoryBytes, a.total.memoryBytes, humanBytes), right: true },
  { header: 'LABELS', value: (a) => labelText(a.labels), max: 40 },
  { header: 'HEARTBEAT', value: (a) => relativeTime(a.lastHeartbeatAt, now) },
  { header: 'VERSION', value: (a) => a.version },
];

function printAgent(ctx: ClientContext, a: Agent): void {
  const now = ctx.now();
  ctx.print(
    formatFields([
      ['agent', `${a.name} (${a.id})`],
      ['state', a.state],
      ['drain deadline', instant(a.drainDeadline, now)],
      ['slots free', capacity(a.free.slots, a.total.slots)],
      ['cpu free', capacity(a.free.cpu, a.total.cpu, cpu)],
      ['memory free', capacity(a.free.memoryBytes, a.total.memoryBytes, humanBytes)],
      ['executors', a.executors.join(', ')],
      ['labels', labelText(a.labels)],
      ['version', `${a.version} (protocol ${a.protocol})`],
      ['registered', instant(a.registeredAt, now)],
      ['namespaces', a.namespaces ? a.namespaces.join(', ') || '(none)' : 'any'],
      ['revoked', instant(a.revokedAt ?? null, now)],
      ['heartbeat', instant(a.lastHeartbeatAt, now)],
    ]),
  );
  const attrs = Object.entries(a.attributes);
  if (attrs.length > 0)
    ctx.print(`\nCAPABILITIES\n${attrs.map(([k, v]) => `  ${k} = ${k === 'memory.bytes' ? humanBytes(Number(v)) : v}`).join('\n')}\n`);
}

export function registerAgentCommands(program: Command): void {
  const agents = addClientOptions(program.command('agents').description('list agents; drain, cordon, uncordon and revoke them'));

  agents
    .command('ls')
    .description('list agents')
    .option('--state <states>', 'only agents in these states, comma-separated: ready, draining, cordoned, down, left, gone')
    .action(
      clientAction(async (ctx, flags: { state?: string }) => {
        const page = ok(await ctx.client.GET('/v1/agents', { params: { query: flags.state ? { state: flags.state } : {} } }));
        if (ctx.output === 'json') return ctx.printJson(page.items);
        ctx.print(
          formatTable(
            page.items,
            agentColumns(ctx.now()),
            flags.state ? `no ${flags.state} agents` : 'no agents registered: start one with drover agent',
          ),
        );
      }),
    );

  agents
    .command('get')
    .description('show an agent: state, capacity, capabilities')
    .argument('<agent>', 'agent id')
    .action(
      clientAction(async (ctx, id: string) => {
        const agent = ok(await ctx.client.GET('/v1/agents/{id}', { params: { path: { id } } }));
        if (ctx.output === 'json') return ctx.printJson(agent);
        printAgent(ctx, agent);
      }),
    );

  agents
    .command('drain')
    .description('drain an agent: it finishes its runs and takes nothing new')
    .argument('<agent>', 'agent id')
    .option('--deadline <duration>', 're-queue the runs still on it after this long, e.g. 10m')
    .action(
      clientAction(async (ctx, id: string, flags: { deadline?: string }) => {
        const agent = ok(
          await ctx.client.POST('/v1/agents/{id}/drain', {
            params: { path: { id } },
            body: flags.deadline ? { deadline: flags.deadline } : {},
          }),
        );
        if (ctx.output === 'json') return ctx.printJson(agent);
        ctx.print(`agent ${agent.name}: ${agent.state}${agent.drainDeadline ? ` until ${agent.drainDeadline}` : ''}\n`);
      }),
    );

  agents
    .command('revoke')
    .description(
      'revoke an agent (admin): its messages are refused, its runs are retried elsewhere; it must join again with a new join token',
    )
    .argument('<agent>', 'agent id')
    .action(
      clientAction(async (ctx, id: string) => {
        const agent = ok(await ctx.client.POST('/v1/agents/{id}/revoke', { params: { path: { id } } }));
        if (ctx.output === 'json') return ctx.printJson(agent);
        ctx.print(
          `agent ${agent.name} (${agent.id}) revoked at ${agent.revokedAt ?? 'now'}: its runs are retried per their policy; to bring it back, create a join token (drover tokens create --role agent) and restart it with --join-token\n`,
        );
      }),
    );

  for (const action of ['cordon', 'uncordon'] as const) {
    agents
      .command(action)
      .description(action === 'cordon' ? 'cordon an agent: it takes nothing new, its runs go on' : 'uncordon (or stop draining) an agent')
      .argument('<agent>', 'agent id')
      .action(
        clientAction(async (ctx, id: string) => {
          const path = action === 'cordon' ? '/v1/agents/{id}/cordon' : '/v1/agents/{id}/uncordon';
          const agent = ok(await ctx.client.POST(path, { params: { path: { id } } }));
          if (ctx.output === 'json') return ctx.printJson(agent);
          ctx.print(`agent ${agent.name}: ${agent.state}\n`);
        }),
      );
  }
}
