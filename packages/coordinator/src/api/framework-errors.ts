// Errors met before a request reaches a route — a URL that cannot be decoded, a path parameter
// past the router's limit, a request line or headers Node refuses to parse — answered as
// problem documents like every other error, instead of fastify's and Node's own JSON shapes.
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import type { ApiErrorCode } from '@drover/shared';
import { sendProblem, titleOf } from './problem.js';

/**
 * The longest path parameter the router accepts, as sent (percent-encoded). A name of 200
 * characters, each up to 4 UTF-8 bytes written %XX, is 2400; longer ids are 404s or 400s
 * from the routes, and whole request lines are bounded by Node's header limit (431).
 */
export const MAX_PARAM_LENGTH = 4096;

/** fastify's `frameworkErrors`: a URL it cannot route. */
export function frameworkErrors(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    sendProblem(reply, 414, 'URI_TOO_LONG', `a path parameter is longer than ${MAX_PARAM_LENGTH} characters; no id or name is that long`);
    return;
  }
  if (err.code === 'FST_ERR_BAD_URL') {
    sendProblem(reply, 400, 'INVALID_URL', `${err.message}: percent-encode the path as UTF-8 (encodeURIComponent)`);
    return;
  }
  sendProblem(reply, 500, 'INTERNAL_ERROR', 'the coordinator failed to route this request; see its log for details');
}

/** What Node's parser refused, as a status, a code and what to do. */
function clientProblem(err: NodeJS.ErrnoException): { status: number; code: ApiErrorCode; detail: string } {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return { status: 408, code: 'REQUEST_TIMEOUT', detail: 'the request was not received in time; send it again, whole' };
  if (err.code === 'HPE_HEADER_OVERFLOW')
    return { status: 431, code: 'HEADERS_TOO_LARGE', detail: 'the request line and headers are larger than 16 KiB; send shorter ones' };
  if (err.code === 'HPE_INVALID_METHOD')
    return { status: 400, code: 'BAD_REQUEST', detail: 'unknown HTTP method; the API uses GET, POST, PUT, PATCH and DELETE' };
  return { status: 400, code: 'BAD_REQUEST', detail: `the request is not valid HTTP/1.1 (${err.code ?? err.message})` };
}

/** fastify's `clientErrorHandler`: Node could not parse the request, so there is no reply object. */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  // A reset connection has nobody to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, code, detail } = clientProblem(err);
  const title = titleOf(status);
  // A HEAD is answered without a body, or its client would read the body as the next answer.
  const head = (err as { rawPacket?: Buffer }).rawPacket?.subarray(0, 5).toString('latin1') === 'HEAD ';
  const body = head ? '' : JSON.stringify({ type: 'about:blank', title, status, code, detail });
  if (socket.writable)
    socket.write(
      `HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  socket.destroy(err);
}

/** The fastify options that route these errors here. */
export const frameworkErrorOptions = {
  frameworkErrors,
  clientErrorHandler,
  routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
} satisfies Partial<FastifyServerOptions>;
