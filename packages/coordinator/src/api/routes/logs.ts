// /v1/runs/{id}/logs: ordered log chunks; with ?follow=1 a server-sent event stream that
// ends when the run has ended and every chunk has been sent, read when PostgreSQL notifies new
// chunks (api/log-followers.ts), within caps per run, per token and in all (429 beyond); with
// ?format=raw (or an Accept of application/octet-stream) the output's bytes exactly as
// printed, both streams interleaved.
// A plain HTTP route, not an operation (operation.ts): a follow is a server-sent event stream
// and the raw answer a byte stream, which only HTTP carries; the NATS API will offer the same
// chunks as pages and the event stream (issue 18).
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { isTerminal, type RunState } from '@drover/shared';
import type { CoordinatorContext } from '../../context.js';
import { getLogBytes, getLogChunks, runLogPositions, type LogPosition } from '../../store/logs.js';
import { getRun } from '../../store/query-runs.js';
import { badRequest } from '../problem.js';
import { LogFollowers, TooManyFollowers, type FollowStep } from '../log-followers.js';
import { LogSignals } from '../../store/log-signals.js';
import { databaseTlsOf } from '../../options.js';
import { databaseSsl } from '../../security/tls.js';
import { visibleRun } from '../require.js';
import { LogChunkSchema, ProblemSchema } from '../schemas.js';

/** Chunks a follower reads at once (at most 16 KiB each): what it holds for a slow client. */
const FOLLOW_PAGE = 100;
/** A stream quiet this long gets a comment line at the followers' next keep-alive (every 15 s). */
const KEEPALIVE_MS = 10_000;
/** Chunks read per query for the raw answer (at most 16 KiB each). */
const RAW_PAGE = 500;

/** The bytes of every chunk after `after`, page by page, so a large output is never held whole. */
async function* rawOutput(
  ctx: CoordinatorContext,
  runId: string,
  after: LogPosition | undefined,
  attempt?: number,
): AsyncGenerator<Uint8Array> {
  for (;;) {
    const page = await getLogBytes(ctx.db, runId, after, RAW_PAGE, attempt);
    for (const c of page) yield c.data;
    const last = page[page.length - 1];
    if (!last || page.length < RAW_PAGE) return;
    after = { attempt: last.attempt, seq: last.seq };
  }
}

function parseCursor(cursor: string | undefined): { attempt: number; seq: number } | undefined {
  if (!cursor) return undefined;
  const m = /^(\d+):(\d+)$/.exec(cursor);
  if (!m) throw badRequest([{ field: 'cursor', message: 'must be "<attempt>:<seq>", as returned in nextCursor' }]);
  return { attempt: Number(m[1]), seq: Number(m[2]) };
}

export async function logRoutes(app: FastifyInstance, ctx: CoordinatorContext): Promise<void> {
  // Followers are hijacked responses the server would wait for forever on close: end them first.
  let stopping = false;
  const streams = new Set<() => void>();
  // Made on the first follow: registering routes (the OpenAPI build) must not touch connections.
  let hub: { followers: LogFollowers; signals: LogSignals } | undefined;
  const hubOf = () => {
    if (hub) return hub;
    const o = ctx.options;
    const followers = new LogFollowers(
      { total: o.logFollowers, perRun: o.logFollowersPerRun, perToken: o.logFollowersPerToken, pollMs: o.logFollowPoll },
      () => ctx.metrics.logFollowerRead(),
      (runIds) => runLogPositions(ctx.db, runIds),
      (err) => ctx.log.warn({ err }, "the log followers' sweep failed; it runs again at the next --log-follow-poll"),
    );
    ctx.metrics.watchLogFollowers(() => followers.counts());
    const signals = new LogSignals(
      o.databaseListenUrl ?? o.databaseUrl,
      databaseSsl(databaseTlsOf(o)),
      { onRun: (runId) => followers.wakeRun(runId), onAll: () => followers.wakeAll() },
      ctx.log,
    );
    signals.start();
    return (hub = { followers, signals });
  };
  app.addHook('preClose', async () => {
    stopping = true;
    for (const end of streams) end();
  });
  app.addHook('onClose', async () => {
    hub?.followers.stop();
    await hub?.signals.stop();
  });

  app.get(
    '/v1/runs/:id/logs',
    {
      config: { access: 'read' },
      schema: {
        summary:
          "Read a run's output, every attempt in order (chunks carry `attempt`) or one with ?attempt=N; follow=1 streams it (text/event-stream) until the run ends; format=raw answers the bytes as printed",
        description:
          'A chunk carries its output as text when it is valid UTF-8, else as base64 with `encoding: "base64"`: output is bytes, and any bytes come back as printed. ' +
          '`format=raw` (or `Accept: application/octet-stream`) answers the bytes of every chunk after `cursor`, stdout and stderr interleaved as printed, ' +
          'with the run state in the `Drover-Run-State` header; `limit` does not apply and it cannot be combined with follow.',
        tags: ['runs'],
        params: Type.Object({ id: Type.String() }),
        querystring: Type.Object(
          {
            follow: Type.Optional(Type.Union([Type.Literal('1'), Type.Literal('true'), Type.Literal('0'), Type.Literal('false')])),
            format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('raw')], { description: 'raw: the bytes as printed.' })),
            cursor: Type.Optional(Type.String()),
            attempt: Type.Optional(Type.Integer({ minimum: 1, description: "Only this attempt's output." })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000, default: 1000 })),
          },
          { additionalProperties: false },
        ),
        response: {
          // The raw answer (application/octet-stream) is described above, not here: typed clients
          // would otherwise see every page as JSON-or-bytes.
          200: Type.Object({
            items: Type.Array(LogChunkSchema),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
            runState: Type.String(),
          }),
          400: ProblemSchema,
          404: ProblemSchema,
          429: ProblemSchema,
        },
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: string };
      const q = req.query as { follow?: string; format?: string; cursor?: string; limit?: number; attempt?: number };
      // A browser's EventSource reconnects on its own and sends the last event id it saw: resume there.
      const lastEventId = req.headers['last-event-id'];
      let after = parseCursor(q.cursor ?? (typeof lastEventId === 'string' ? lastEventId : undefined));
      const run = await visibleRun(ctx.db, id, req);
      const follow = q.follow === '1' || q.follow === 'true';
      const raw = q.format === 'raw' || (q.format === undefined && wantsBytes(req.headers.accept));
      if (raw) {
        if (follow)
          throw badRequest([
            { field: 'format', message: 'raw output cannot be followed: follow the JSON chunks, or read raw once the run ended' },
          ]);
        return reply
          .type('application/octet-stream')
          .header('drover-run-state', run.state)
          .send(Readable.from(rawOutput(ctx, id, after, q.attempt)));
      }
      if (!follow) {
        const items = await getLogChunks(ctx.db, id, after, q.limit ?? 1000, q.attempt);
        const last = items[items.length - 1];
        return { items, nextCursor: last ? `${last.attempt}:${last.seq}` : (q.cursor ?? null), runState: run.state };
      }
      // Refused before the stream starts, so the client sees a problem and not an empty stream.
      const { followers } = hubOf();
      const holder = req.principal?.tokenId ? `token ${req.principal.tokenId}` : `address ${req.ip}`;
      try {
        followers.check(id, holder);
      } catch (err) {
        if (err instanceof TooManyFollowers) void reply.header('retry-after', String(err.retryAfter));
        throw err;
      }
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      // Send the headers now: a quiet run's follower should know it is connected before any output.
      res.flushHeaders();
      let closed = false;
      let lastWriteAt = Date.now();
      // Where the last read left this follower, as runLogPositions puts it: the sweep wakes it when the run is elsewhere.
      let position: string | undefined;
      const write = (event: string, data: unknown, eventId?: string) => {
        lastWriteAt = Date.now();
        if (!res.writableEnded) res.write(`${eventId ? `id: ${eventId}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      };
      const step = async (): Promise<FollowStep> => {
        if (closed) return 'done';
        try {
          // Read the state before the chunks: if the run had ended then, these chunks are the last.
          const state = ((await getRun(ctx.db, id))?.state ?? 'cancelled') as RunState;
          const chunks = await getLogChunks(ctx.db, id, after, FOLLOW_PAGE, q.attempt);
          if (closed) return 'done';
          for (const c of chunks) write('log', c, `${c.attempt}:${c.seq}`);
          const last = chunks[chunks.length - 1];
          if (last) after = { attempt: last.attempt, seq: last.seq };
          position = `${state} ${after?.attempt ?? 0}:${after?.seq ?? 0}`;
          if (chunks.length === FOLLOW_PAGE) return 'more';
          if (isTerminal(state)) {
            write('end', { state });
            return 'done';
          }
          return 'idle';
        } catch (err) {
          ctx.log.error({ err, runId: id }, 'log stream failed');
          write('error', { detail: 'the log stream failed; reconnect with the last event id as cursor' });
          return 'done';
        }
      };
      const endNow = () => {
        if (closed) return;
        closed = true;
        res.write(
          `event: end\ndata: ${JSON.stringify({ state: null, reason: 'the coordinator is stopping; reconnect with the last event id as cursor' })}\n\n`,
        );
        follower.end();
      };
      streams.add(endNow);
      // A comment line now and then keeps idle proxies from closing a quiet stream.
      const keepAlive = () => {
        if (Date.now() - lastWriteAt < KEEPALIVE_MS || res.writableEnded) return;
        res.write(': keep-alive\n\n');
        lastWriteAt = Date.now();
      };
      const follower = followers.add(
        id,
        holder,
        res,
        step,
        keepAlive,
        () => position,
        () => {
          closed = true;
          streams.delete(endNow);
          if (!res.writableEnded) res.end();
        },
      );
      req.raw.on('close', () => follower.end());
      if (stopping) endNow();
    },
  );
}

/** True when the client asks for bytes (application/octet-stream) rather than JSON. */
function wantsBytes(accept: string | undefined): boolean {
  return accept !== undefined && /(^|,)\s*application\/octet-stream\s*(;|,|$)/i.test(accept) && !/application\/json/i.test(accept);
}
