// A minimal server-sent events parser (the subset the coordinator writes: id, event, data).
// Also exported as `@drover/client/sse`, free of openapi-fetch, for the dashboard to bundle.

/** One event of a text/event-stream. */
export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

/** Splits text arriving in arbitrary pieces into whole events; feed it with push(). */
export class SseParser {
  private buffer = '';
  /** A trailing CR, held back: it may be the first half of a CRLF split across two pieces. */
  private pendingCr = false;

  /** Adds received text and returns the events it completed. */
  push(text: string): SseEvent[] {
    let raw = (this.pendingCr ? '\r' : '') + text;
    this.pendingCr = raw.endsWith('\r');
    if (this.pendingCr) raw = raw.slice(0, -1);
    this.buffer += raw.replace(/\r\n?/g, '\n');
    const events: SseEvent[] = [];
    for (let end = this.buffer.indexOf('\n\n'); end >= 0; end = this.buffer.indexOf('\n\n')) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const event = parseBlock(block);
      if (event) events.push(event);
    }
    return events;
  }
}

function parseBlock(block: string): SseEvent | undefined {
  let event = 'message';
  let id: string | undefined;
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue; // comments keep proxies from timing out
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id') id = value;
  }
  if (data.length === 0) return undefined;
  return { event, data: data.join('\n'), ...(id !== undefined ? { id } : {}) };
}
