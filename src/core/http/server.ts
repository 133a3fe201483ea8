import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer } from '@apollo/server';
import type { Config } from '../config/config';
import type { GraphQLContext } from '../context/context';
import { runInRequestScope, type RequestScope } from '../context/request-scope';
import { errorCatalog, type ErrorKey } from '../errors/error-codes';
import type { Logger } from '../logger';
import { requestScopeOf } from './client-info';
import { GRAPHIQL_ASSET_PREFIX, GRAPHIQL_CSP, graphiqlAsset, graphiqlPage } from './graphiql';
import { BodyTooLargeError, readBody } from './request-body';

export type HttpDependencies = {
  config: Config;
  logger: Logger;
  apollo: ApolloServer<GraphQLContext>;
  createContext(req: IncomingMessage, scope: RequestScope): Promise<GraphQLContext>;
  isReady(): Promise<boolean>;
  jwks(): unknown;
  /** Forward authentication for reverse proxies (`GET /auth/check`). */
  forwardAuth(
    req: IncomingMessage,
    scope: RequestScope,
  ): Promise<{ status: number; headers: Record<string, string>; reason: string }>;
  /** Streaming export of audit records (`GET /audit/export`): a refusal, or a body to write once accepted. */
  auditExport(
    req: IncomingMessage,
    scope: RequestScope,
    url: URL,
  ): Promise<
    | { status: number; error: ErrorKey; field?: string; headers?: Record<string, string> }
    | { status: 200; headers: Record<string, string>; write(res: ServerResponse): Promise<void> }
  >;
};

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

function send(res: ServerResponse, status: number, body: string | Buffer, headers: Record<string, string>) {
  res.writeHead(status, { ...SECURITY_HEADERS, ...headers });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}) {
  send(res, status, JSON.stringify(value), { 'content-type': 'application/json; charset=utf-8', ...headers });
}

function sendGraphQLError(
  res: ServerResponse,
  status: number,
  key: ErrorKey,
  requestId: string,
  { field, headers }: { field?: string; headers?: Record<string, string> } = {},
) {
  const { code, message } = errorCatalog[key];
  sendJson(res, status, { errors: [{ message, extensions: { code, reason: key, requestId, field } }] }, headers);
}

function wantsHtml(req: IncomingMessage): boolean {
  return req.method === 'GET' && (req.headers.accept ?? '').includes('text/html');
}

export function createHttpServer(deps: HttpDependencies): Server {
  const { config, logger } = deps;

  async function handleGraphQL(req: IncomingMessage, res: ServerResponse, scope: RequestScope, url: URL) {
    if (wantsHtml(req) && !url.search) {
      send(res, 200, graphiqlPage, {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': GRAPHIQL_CSP,
      });
      return;
    }
    let body: unknown;
    try {
      const raw = await readBody(req, config.limits.maxBodyBytes);
      const isJson = (req.headers['content-type'] ?? '').toLowerCase().includes('json');
      body = isJson && raw.length > 0 ? JSON.parse(raw) : raw;
    } catch (error) {
      if (error instanceof BodyTooLargeError) return sendGraphQLError(res, 413, 'request.too_large', scope.requestId);
      if (error instanceof SyntaxError) return sendGraphQLError(res, 400, 'request.invalid_input', scope.requestId);
      throw error;
    }
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const response = await deps.apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
      context: () => deps.createContext(req, scope),
    });
    const outHeaders: Record<string, string> = {};
    for (const [name, value] of response.headers) outHeaders[name] = value;
    res.writeHead(response.status ?? 200, { ...SECURITY_HEADERS, ...outHeaders });
    if (response.body.kind === 'complete') {
      res.end(response.body.string);
    } else {
      for await (const chunk of response.body.asyncIterator) res.write(chunk);
      res.end();
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse, scope: RequestScope) {
    const url = new URL(req.url ?? '/', 'http://localhost');
    res.setHeader('x-request-id', scope.requestId);
    if (url.pathname === '/graphql') return handleGraphQL(req, res, scope, url);
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'method not allowed' });
    if (url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (url.pathname === '/readyz') {
      const ready = await deps.isReady();
      return sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'unavailable' });
    }
    if (url.pathname === '/auth/check') {
      const answer = await deps.forwardAuth(req, scope);
      return sendJson(
        res,
        answer.status,
        { reason: answer.reason },
        { 'cache-control': 'no-store', ...answer.headers },
      );
    }
    if (url.pathname === '/audit/export') {
      const answer = await deps.auditExport(req, scope, url);
      if ('error' in answer) return sendGraphQLError(res, answer.status, answer.error, scope.requestId, answer);
      res.writeHead(200, { ...SECURITY_HEADERS, ...answer.headers });
      return req.method === 'HEAD' ? res.end() : answer.write(res);
    }
    if (url.pathname === '/.well-known/jwks.json') {
      return sendJson(res, 200, deps.jwks(), { 'cache-control': 'public, max-age=300' });
    }
    if (url.pathname.startsWith(GRAPHIQL_ASSET_PREFIX)) {
      const asset = await graphiqlAsset(url.pathname.slice(GRAPHIQL_ASSET_PREFIX.length));
      if (asset)
        return send(res, 200, asset.body, { 'content-type': asset.type, 'cache-control': 'public, max-age=86400' });
    }
    return sendJson(res, 404, { error: 'not found' });
  }

  return createServer((req, res) => {
    const scope = requestScopeOf(req, config.trustProxy);
    runInRequestScope(scope, () =>
      route(req, res, scope).catch((error: unknown) => {
        logger.error({ err: error, url: req.url }, 'request failed');
        if (!res.headersSent) sendGraphQLError(res, 500, 'internal.unexpected', scope.requestId);
        else res.destroy();
      }),
    );
  });
}
