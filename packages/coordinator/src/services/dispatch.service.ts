// Moleculer service `drover.dispatch`: on every coordinator, listens for what should make
// the dispatcher look again, and hands it to the local leadership (which ignores it when
// this coordinator is not the leader).
import type { Context, ServiceSchema } from 'moleculer';
import { EVENTS, SERVICES, failureLogOf, inBackground, type CapacityEvent } from '@drover/shared';
import type { Leadership } from '../dispatch/leadership.js';
import type { CoordinatorContext } from '../context.js';

export function dispatchService(ctx: CoordinatorContext, leadership: Leadership): ServiceSchema {
  return {
    name: SERVICES.dispatch,
    events: {
      [EVENTS.capacity]: {
        // A capacity report not signed by its agent is dropped (and audited): it could starve or flood that agent.
        handler: async (c: Context<CapacityEvent>) => {
          const ok = await ctx.identities.verify('capacity', c.params.agentId, c.params, c.nodeID).then(
            () => true,
            () => false,
          );
          if (ok) leadership.onCapacity(c.params);
        },
      },
      [EVENTS.fleetChanged]: {
        handler: () => inBackground('fleet refresh', failureLogOf(ctx.log), () => leadership.refreshFleet()),
      },
      // Moleculer's own: a node's services appeared or vanished, so an agent may now be addressable.
      '$services.changed': { handler: () => leadership.onQueueReady() },
      [EVENTS.queueReady]: { handler: () => leadership.onQueueReady() },
      [EVENTS.jobChanged]: {
        handler: (c: Context<{ jobId: string }>) => {
          ctx.jobs.invalidate(c.params.jobId);
          leadership.onScheduleChanged();
        },
      },
      [EVENTS.scheduleChanged]: { handler: () => leadership.onScheduleChanged() },
    },
  };
}
