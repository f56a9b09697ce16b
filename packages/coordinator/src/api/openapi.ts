// The OpenAPI document without a running coordinator: the client generator and its drift
// test need the API's shape, not a database, a queue or a bus.
import { pino } from 'pino';
import { DroverError } from '@drover/shared';
import type { FastifyInstance } from 'fastify';
import type { CoordinatorContext } from '../context.js';
import { buildApi } from './server.js';

/** The OpenAPI 3.1 document as `GET /openapi.json` serves it. */
export type OpenApiDocument = ReturnType<FastifyInstance['swagger']>;

/**
 * A context whose only live member is a silent logger (the API makes its child logger at
 * build time). Route registration must never reach for a connection: any other member
 * throws, so a route that starts doing so breaks `npm run gen:client` loudly, not silently.
 */
function offlineContext(): CoordinatorContext {
  // No settings either: the API's shape must not depend on them (server.ts reads them only when present).
  const members = { log: pino({ level: 'silent' }), options: undefined } as Record<PropertyKey, unknown>;
  return new Proxy(members, {
    get(target, prop) {
      if (prop in target) return target[prop];
      // Promise-resolution and inspection probe these; they are not uses of the context.
      if (prop === 'then' || typeof prop === 'symbol') return undefined;
      throw new DroverError(
        'OPENAPI_CONTEXT_USED',
        `building the OpenAPI document touched ctx.${String(prop)}: route registration must not use the coordinator's connections`,
      );
    },
  }) as unknown as CoordinatorContext;
}

/** Builds the API offline (nothing listens, nothing connects) and returns its OpenAPI document. */
export async function openApiDocument(): Promise<OpenApiDocument> {
  // The auth mode changes no route and no schema; 'dev' only skips reading the rate-limit options.
  const app = await buildApi(offlineContext(), () => false, 'dev');
  try {
    await app.ready();
    return app.swagger();
  } finally {
    await app.close();
  }
}
