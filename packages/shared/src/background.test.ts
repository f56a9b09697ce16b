import { describe, expect, it } from 'vitest';
import { FailureLog, guardBroadcasts, inBackground } from './background.js';

/** A sink that keeps what it was told. */
function sink() {
  const lines: Array<{ level: 'error' | 'info'; obj: Record<string, unknown>; msg: string }> = [];
  return {
    lines,
    error: (obj: object, msg: string) => lines.push({ level: 'error', obj: obj as Record<string, unknown>, msg }),
    info: (obj: object, msg: string) => lines.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
  };
}

describe('FailureLog', () => {
  it('logs the first failure of a kind at once, then one per interval with the count held back, and the recovery', () => {
    const s = sink();
    let now = 0;
    const log = new FailureLog(s, 30_000, () => now);
    for (let i = 0; i < 5; i++) log.failed('sweep', new Error(`boom ${i}`));
    log.failed('other', 'plain');
    now = 30_000;
    log.failed('sweep', new Error('boom again'));
    log.succeeded('sweep');
    log.succeeded('sweep');
    expect(s.lines.map((l) => [l.level, l.obj.kind, l.obj.err ?? null, l.obj.failuresHeldBack ?? 0])).toEqual([
      ['error', 'sweep', 'boom 0', 0],
      ['error', 'other', 'plain', 0],
      ['error', 'sweep', 'boom again', 4],
      ['info', 'sweep', null, 0],
    ]);
  });
});

describe('inBackground', () => {
  it('turns a rejection or a throw into a logged failure, never an unhandled one', async () => {
    const s = sink();
    const log = new FailureLog(s);
    inBackground('rejects', log, () => Promise.reject(new Error('no')));
    inBackground('throws', log, () => {
      throw new Error('sync');
    });
    await new Promise((r) => setImmediate(r));
    expect(s.lines.map((l) => [l.obj.kind, l.obj.err])).toEqual([
      ['throws', 'sync'],
      ['rejects', 'no'],
    ]);
  });
});

describe('guardBroadcasts', () => {
  it('resolves a broadcast that rejects or throws, logging it', async () => {
    const s = sink();
    let calls = 0;
    const broker = {
      broadcast: (_event: string): Promise<void> => {
        calls++;
        if (calls === 1) return Promise.reject(new Error('Broker is disconnected!'));
        throw new Error('sync');
      },
    };
    guardBroadcasts(broker as unknown as { broadcast: (...args: never[]) => unknown }, new FailureLog(s, 0));
    await expect(broker.broadcast('a')).resolves.toBeUndefined();
    await expect(broker.broadcast('b')).resolves.toBeUndefined();
    expect(s.lines.map((l) => [l.obj.event, l.obj.err])).toEqual([
      ['a', 'Broker is disconnected!'],
      ['b', 'sync'],
    ]);
  });
});
