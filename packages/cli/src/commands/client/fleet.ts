// `drover fleet`: the fleet at a glance, through @drover/client.
import type { Command } from 'commander';
import { ok, type FleetSummary } from '@drover/client';
import { addClientOptions, clientAction } from './context.js';
import { formatFields, formatTable } from '../../output/table.js';
import { humanBytes, relativeTime } from '../../output/units.js';
import { capacity, cpu } from './agents.js';

/** The fleet summary as a few lines and a per-label table. */
export function formatFleet(fleet: FleetSummary, now: number): string {
  const states = Object.entries(fleet.agents.byState)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ');
  const c = fleet.capacity;
  let out = formatFields([
    ['agents', `${fleet.agents.total}${states ? ` (${states})` : ''}`],
    ['slots free', capacity(c.free.slots, c.total.slots)],
    ['cpu free', capacity(c.free.cpu, c.total.cpu, cpu)],
    ['memory free', capacity(c.free.memoryBytes, c.total.memoryBytes, humanBytes)],
    ['runs lost (1h)', fleet.runsLostLastHour],
  ]);
  if (fleet.byLabel.length > 0)
    out += `\nBY LABEL\n${formatTable(fleet.byLabel, [
      { header: 'LABEL', value: (l) => l.label, max: 40 },
      { header: 'AGENTS', value: (l) => l.agents, right: true },
      { header: 'SLOTS FREE', value: (l) => capacity(l.free.slots, l.total.slots), right: true },
      { header: 'CPU FREE', value: (l) => capacity(l.free.cpu, l.total.cpu, cpu), right: true },
      { header: 'MEM FREE', value: (l) => capacity(l.free.memoryBytes, l.total.memoryBytes, humanBytes), right: true },
    ])}`;
  if (fleet.down.length > 0)
    out += `\nDOWN\n${formatTable(fleet.down, [
      { header: 'NAME', value: (d) => d.name },
      { header: 'ID', value: (d) => d.id },
      { header: 'LAST HEARTBEAT', value: (d) => relativeTime(d.lastHeartbeatAt, now) },
    ])}`;
  return out;
}

export function registerFleetCommand(program: Command): void {
  addClientOptions(
    program.command('fleet').description('the fleet at a glance: agents by state, free capacity (by label too), agents down, runs lost'),
  ).action(
    clientAction(async (ctx) => {
      const summary = ok(await ctx.client.GET('/v1/fleet'));
      if (ctx.output === 'json') return ctx.printJson(summary);
      ctx.print(formatFleet(summary, ctx.now()));
    }),
  );
}
