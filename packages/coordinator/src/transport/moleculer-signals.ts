// Signals over Moleculer: broadcasts to every coordinator's services (events named in
// @drover/shared's protocol.ts). The broker's broadcasts are guarded (guardBroadcasts), so a
// failed one is logged, never thrown.
import type { ServiceBroker } from 'moleculer';
import { EVENTS } from '@drover/shared';
import type { Signals } from './signals.js';

export class MoleculerSignals implements Signals {
  constructor(private readonly broker: ServiceBroker) {}

  queueReady(): void {
    void this.broker.broadcast(EVENTS.queueReady, {});
  }

  scheduleChanged(): void {
    void this.broker.broadcast(EVENTS.scheduleChanged, {});
  }

  jobChanged(jobId: string): void {
    void this.broker.broadcast(EVENTS.jobChanged, { jobId });
  }

  fleetChanged(agentId: string): void {
    void this.broker.broadcast(EVENTS.fleetChanged, { agentId });
  }

  agentRevoked(agentId: string): void {
    void this.broker.broadcast(EVENTS.agentRevoked, { agentId });
  }

  connected(): boolean {
    return this.broker.transit?.connected ?? false;
  }
}
