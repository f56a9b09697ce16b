import { describe, expect, it } from 'vitest';
import type { ServiceBroker } from 'moleculer';
import { BusLink } from './bus-link.js';

/** A broker whose NATS client reports the statuses pushed into it. */
function fakeBroker(): { broker: ServiceBroker; push(type: string): Promise<void> } {
  const waiting: Array<(s: { type: string }) => void> = [];
  const queued: Array<{ type: string }> = [];
  const status = async function* () {
    for (;;) yield queued.shift() ?? (await new Promise<{ type: string }>((r) => waiting.push(r)));
  };
  const broker = { transit: { tx: { client: { status } } } } as unknown as ServiceBroker;
  return {
    broker,
    async push(type) {
      const w = waiting.shift();
      if (w) w({ type });
      else queued.push({ type });
      await new Promise((r) => setImmediate(r));
    },
  };
}

describe('BusLink', () => {
  it('is up from its creation, down on a disconnect, and up again from the reconnect', async () => {
    let now = 1000;
    const link = new BusLink(() => now);
    const { broker, push } = fakeBroker();
    link.follow(broker);
    now = 9000;
    expect(link.upForMs()).toBe(8000);
    await push('disconnect');
    now = 29_000;
    expect(link.upForMs()).toBe(0);
    await push('reconnect');
    now = 32_000;
    expect(link.upForMs()).toBe(3000);
    await push('pingTimer');
    expect(link.upForMs()).toBe(3000);
  });

  it('stays up with the in-process transporter (no NATS client)', () => {
    let now = 0;
    const link = new BusLink(() => now);
    link.follow({ transit: { tx: {} } } as unknown as ServiceBroker);
    now = 5000;
    expect(link.upForMs()).toBe(5000);
  });
});
