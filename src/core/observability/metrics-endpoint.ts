import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger';

/** Where a scrape's text comes from: this process's registry, or a cluster's aggregate. */
export type MetricsSource = { contentType: string; scrape(): Promise<string> };

export function localMetrics(registry: Registry): MetricsSource {
  return { contentType: registry.contentType, scrape: () => registry.metrics() };
}

/** `Authorization: Bearer <token>`, compared as SHA-256 digests in constant time. */
export function presentsToken(authorization: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!match) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(match[1]), digest(token));
}

type Answer = { status: number; headers: Record<string, string>; body: string };

/** One scrape's answer: 401 without the token (no detail), 503 when the aggregate cannot be had. */
async function answerScrape(
  source: MetricsSource,
  token: string | undefined,
  authorization: string | undefined,
  logger: Logger,
): Promise<Answer> {
  if (token !== undefined && !presentsToken(authorization, token)) {
    return { status: 401, headers: { 'www-authenticate': 'Bearer' }, body: '' };
  }
  try {
    const body = await source.scrape();
    return { status: 200, headers: { 'content-type': source.contentType, 'cache-control': 'no-store' }, body };
  } catch (error) {
    logger.error({ err: error }, 'could not collect metrics');
    return { status: 503, headers: {}, body: '' };
  }
}

/** `GET /metrics` on the main port, behind METRICS_TOKEN when it is set. */
export function metricsRoute(source: MetricsSource, token: string | undefined, logger: Logger): FastifyPluginAsync {
  return async (app) => {
    app.get('/metrics', async (request, reply) => {
      const answer = await answerScrape(source, token, request.headers.authorization, logger);
      return reply.code(answer.status).headers(answer.headers).send(answer.body);
    });
  };
}

export type MetricsListener = { port: number; close(): Promise<void> };

/**
 * METRICS_PORT: a listener of its own that serves `/metrics` and nothing else, so the port can be
 * left to the scraper's network alone. A token, when also set, is required there too.
 */
export async function listenForMetrics(
  port: number,
  host: string,
  source: MetricsSource,
  token: string | undefined,
  logger: Logger,
): Promise<MetricsListener> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?', 1)[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    void answerScrape(source, token, req.headers.authorization, logger).then((answer) => {
      res.writeHead(answer.status, answer.headers).end(req.method === 'HEAD' ? undefined : answer.body);
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
