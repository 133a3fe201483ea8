import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { GRAPHIQL_ASSET_NAMES, GRAPHIQL_ASSET_PREFIX, graphiqlAsset } from './graphiql';
import { sendGraphQLError, sendJson } from './replies';
import type { HttpDependencies } from './server';

/** Everything beside /graphql: GET (and HEAD) only; other methods get the not-found handler's 405. */
export async function serviceRoutes(app: FastifyInstance, deps: HttpDependencies): Promise<void> {
  app.get('/healthz', (_request, reply) => sendJson(reply, 200, { status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const ready = await deps.isReady();
    return sendJson(reply, ready ? 200 : 503, { status: ready ? 'ready' : 'unavailable' });
  });

  app.get('/auth/check', async (request, reply) => {
    const answer = await deps.forwardAuth(request.raw, request.scope);
    return sendJson(
      reply,
      answer.status,
      { reason: answer.reason },
      { 'cache-control': 'no-store', ...answer.headers },
    );
  });

  app.get('/audit/export', async (request, reply) => {
    const answer = await deps.auditExport(request.raw, request.scope, new URL(request.url, 'http://localhost'));
    if ('error' in answer) return sendGraphQLError(reply, answer.status, answer.error, answer);
    // The export writes to the socket itself: batch by batch, waiting for the client to drain, and
    // stopping when it hangs up.
    reply.hijack();
    reply.raw.writeHead(200, { ...(reply.getHeaders() as OutgoingHttpHeaders), ...answer.headers });
    if (request.method === 'HEAD') {
      reply.raw.end();
      return;
    }
    try {
      await answer.write(reply.raw);
    } catch (error) {
      deps.logger.error({ err: error, path: '/audit/export' }, 'request failed');
      reply.raw.destroy();
    }
  });

  // Browsers ask every origin for one; without it each page logs a failed request.
  app.get('/favicon.ico', (_request, reply) => reply.code(204).header('cache-control', 'public, max-age=86400').send());

  app.get('/.well-known/jwks.json', (_request, reply) =>
    sendJson(reply, 200, deps.jwks(), { 'cache-control': `public, max-age=${deps.config.signingKeys.jwksMaxAge}` }),
  );

  // With GRAPHIQL=false the assets are not routed at all: they answer as any unknown path does.
  for (const name of deps.config.graphiql ? GRAPHIQL_ASSET_NAMES : []) {
    app.get(`${GRAPHIQL_ASSET_PREFIX}${name}`, async (_request, reply) => {
      const asset = await graphiqlAsset(name);
      return reply.headers({ 'content-type': asset.type, 'cache-control': 'public, max-age=86400' }).send(asset.body);
    });
  }
}
