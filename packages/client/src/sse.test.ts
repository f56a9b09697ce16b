import { describe, expect, it } from 'vitest';
import { SseParser } from './sse.js';

describe('SseParser', () => {
  it('parses events split at any point, CRLF included', () => {
    const text = 'id: 1:0\nevent: log\ndata: {"a":1}\n\n: keep-alive\n\r\nevent: end\r\ndata: {"state":"succeeded"}\r\n\r\n';
    for (let cut = 0; cut <= text.length; cut++) {
      const p = new SseParser();
      const events = [...p.push(text.slice(0, cut)), ...p.push(text.slice(cut))];
      expect(events).toEqual([
        { event: 'log', data: '{"a":1}', id: '1:0' },
        { event: 'end', data: '{"state":"succeeded"}' },
      ]);
    }
  });

  it('joins multi-line data and keeps an incomplete event for later', () => {
    const p = new SseParser();
    expect(p.push('data: one\ndata: two\n\ndata: three')).toEqual([{ event: 'message', data: 'one\ntwo' }]);
    expect(p.push('\n\n')).toEqual([{ event: 'message', data: 'three' }]);
  });
});
