// This process's own connection to the bus, as NATS reports it. A coordinator uses it to judge
// agents fairly (DESIGN guarantee 4): silence it could not have heard — its own bus was down, or
// came back moments ago — says nothing about the agents, so it is not held against them.
import { performance } from 'node:perf_hooks';
import type { ServiceBroker } from 'moleculer';

interface NatsStatus {
  type: string;
}

/** Follows a broker's NATS connection: since when it has been up without a break. */
export class BusLink {
  /** Up since (on `now`'s clock); undefined while the connection is down. */
  private upSince: number | undefined;

  /** Counts as up from its creation: the process cannot have heard anything before it started. */
  constructor(private readonly now: () => number = () => performance.now()) {
    this.upSince = now();
  }

  /**
   * Starts following a started broker. With the in-process transporter there is no connection to
   * lose: it stays up. Moleculer keeps NATS's reconnects to itself, so the client's own status
   * stream is read (nats.js lets several readers follow it).
   */
  follow(broker: ServiceBroker): void {
    const transit = broker.transit as unknown as { tx?: { client?: { status(): AsyncIterable<NatsStatus> } } } | undefined;
    const client = transit?.tx?.client;
    if (!client) return;
    void (async () => {
      for await (const s of client.status()) {
        if (s.type === 'disconnect') this.upSince = undefined;
        else if (s.type === 'reconnect') this.upSince = this.now();
      }
    })().catch(() => undefined);
  }

  /** How long the connection has been up without a break (ms); 0 while it is down. */
  upForMs(): number {
    return this.upSince === undefined ? 0 : this.now() - this.upSince;
  }
}
