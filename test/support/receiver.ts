// A local HTTP server standing in for whatever Drover calls out to: webhook receivers, and the
// endpoints of `http` jobs. `answer` picks the status of the n-th request (1-based).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestEnv } from './isolation.js';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** The body parsed as JSON, or the raw text when it is not JSON. */
  body: Record<string, unknown> | string;
}

export interface Receiver {
  /** `http://127.0.0.1:<port>/hook` */
  url: string;
  requests: ReceivedRequest[];
}

/** Starts a receiver that is closed with the environment. */
export async function startReceiver(env: TestEnv, answer: (n: number) => number | Promise<number> = () => 200): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: ReceivedRequest['body'] = text;
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        // not JSON: keep the text
      }
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      void Promise.resolve(answer(requests.length)).then((status) => res.writeHead(status).end(status >= 300 ? 'try again' : 'ok'));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  env.onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, requests };
}
