// A fake coordinator link for unit tests of the agent's logic: it records what is asked and
// answers from a script (a reply per kind, or a function of the request).
import { pino, type Logger } from 'pino';
import type { AskKind, Asks, CoordinatorLink, Reply } from '../src/transport.js';

type Script = { [K in AskKind]?: (req: Asks[K]['req']) => Reply<Asks[K]['res']> };

/** A link whose `ask` answers from `script` (default: a failure saying no coordinator answered). */
export class FakeLink implements CoordinatorLink {
  readonly bus = { nats: 'memory', cluster: 'test', where: 'the in-process bus' };
  readonly asked: Array<{ kind: AskKind; req: unknown }> = [];
  readonly broadcasts: unknown[] = [];
  lastHeardAt: number | undefined;
  onBus = true;

  constructor(public script: Script = {}) {}

  ask<K extends AskKind>(kind: K, req: Asks[K]['req']): Promise<Reply<Asks[K]['res']>> {
    this.asked.push({ kind, req });
    const answer = this.script[kind] as ((req: Asks[K]['req']) => Reply<Asks[K]['res']>) | undefined;
    const reply = answer
      ? answer(req)
      : { status: 'failed' as const, err: Object.assign(new Error('no coordinator'), { name: 'ServiceNotFoundError' }) };
    if (reply.status === 'answered') this.lastHeardAt = performance.now();
    return Promise.resolve(reply);
  }

  /** The requests of one kind, in order. */
  requests<K extends AskKind>(kind: K): Array<Asks[K]['req']> {
    return this.asked.filter((a) => a.kind === kind).map((a) => a.req as Asks[K]['req']);
  }

  coordinatorOnBus(): boolean {
    return this.onBus;
  }

  broadcastCapacity(event: unknown): void {
    this.broadcasts.push(event);
  }
}

/** A refusal as a coordinator throws it (a Moleculer client error). */
export function refusal(type: string, code = 401): Error {
  return Object.assign(new Error(`refused: ${type}`), { name: 'MoleculerClientError', type, code });
}

/** A logger that keeps its lines, for asserting what the agent said. */
export function recordingLogger(): { log: Logger; lines: Array<{ level: number; msg: string } & Record<string, unknown>> } {
  const lines: Array<{ level: number; msg: string } & Record<string, unknown>> = [];
  const log = pino(
    { level: 'debug' },
    {
      write(chunk: string) {
        lines.push(JSON.parse(chunk) as { level: number; msg: string });
      },
    },
  );
  return { log, lines };
}
