// The web dashboard: static assets built ahead of time by @drover/dashboard, served under /ui/.
// The dashboard routes in the browser (history API), so any /ui/ path that is not a file
// answers with index.html and the app picks the page from the URL.
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import { dashboardAssetsDir } from '@drover/dashboard';
import { sendProblem } from '../problem.js';

// Everything the dashboard loads comes from this origin: no CDN, no inline script.
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";

/** Registers `/` → `/ui/` and the dashboard under `/ui/`, hidden from the OpenAPI document. */
export async function dashboardRoutes(app: FastifyInstance): Promise<void> {
  app.get('/', { config: { access: 'public' }, schema: { hide: true } }, async (_req, reply) => reply.redirect('/ui/'));
  app.get('/ui', { config: { access: 'public' }, schema: { hide: true } }, async (_req, reply) => reply.redirect('/ui/'));
  await app.register(
    async (ui) => {
      // The assets are public (the page asks for a token itself); fastify-static's routes take no config.
      ui.addHook('onRoute', (route) => {
        route.config = { ...route.config, access: 'public' };
      });
      ui.addHook('onSend', async (_req, reply) => {
        reply.header('content-security-policy', CSP);
        reply.header('x-content-type-options', 'nosniff');
      });
      await ui.register(fastifyStatic, { root: dashboardAssetsDir, prefix: '/', index: ['index.html'] });
      ui.setNotFoundHandler((req, reply) => {
        // A missing asset (a name with an extension) is a real 404; anything else is a page.
        const path = req.url.split('?')[0] ?? '';
        if (/\.[a-z0-9]+$/i.test(path))
          return sendProblem(reply, 404, 'NOT_FOUND', `no dashboard asset ${path}; if the dashboard was never built, run "npm run build"`);
        // Pages must revalidate so a rebuilt dashboard is picked up on the next load.
        return reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').sendFile('index.html');
      });
    },
    { prefix: '/ui' },
  );
}
