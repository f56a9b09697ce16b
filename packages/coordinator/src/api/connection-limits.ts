// Shedding connections that would crowd everyone else out: a client that opens many sockets
// (or opens them and sends nothing) must not use up `--max-connections` for the whole API.
// - A request must arrive whole within `--api-request-timeout` (Node's headersTimeout and
//   requestTimeout, checked every second): an idle or trickling connection is closed. Responses,
//   such as followed logs (server-sent events), are not limited by it.
// - One address holds at most `--max-connections-per-address` sockets; further ones are
//   destroyed as they connect, before they cost a request.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';

/** The server options (for http(s).createServer) that bound how long a request may take to arrive. */
export function requestTimeouts(requestTimeoutMs: number) {
  return {
    headersTimeout: requestTimeoutMs,
    requestTimeout: requestTimeoutMs,
    // Node checks open connections against the timeouts this often (its default is 30 s).
    connectionsCheckingInterval: Math.min(1000, requestTimeoutMs),
    // An idle keep-alive connection is closed after this; a new request opens another.
    keepAliveTimeout: Math.min(5000, requestTimeoutMs),
  };
}

/** Destroys a connection that would give its address more than `max` open ones (0: no limit). */
export function limitConnectionsPerAddress(server: Server, max: number, log?: Logger): void {
  if (max <= 0) return;
  const open = new Map<string, number>();
  const warned = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress;
    if (address === undefined) return;
    const n = open.get(address) ?? 0;
    if (n >= max) {
      socket.destroy();
      const now = Date.now();
      if (now - (warned.get(address) ?? 0) > 60_000) {
        if (warned.size >= 1000) warned.clear();
        warned.set(address, now);
        log?.warn({ address, max }, 'closing connections past --max-connections-per-address from one address');
      }
      return;
    }
    open.set(address, n + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
  });
}
