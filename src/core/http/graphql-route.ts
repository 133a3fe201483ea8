import { fastifyApolloHandler } from '@as-integrations/fastify';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { noteRequestOf } from '../context/request-scope';
import { nestsFragmentsTooDeeply } from '../graphql/fragment-nesting';
import { GRAPHIQL_CSP, renderGraphiqlPage } from './graphiql';
import { sendGraphQLError, sendNotFound } from './replies';
import { readBody } from './request-body';
import { responseCookies } from './response-cookies';
import type { HttpDependencies } from './server';

export type GraphQLRouteOptions = Pick<HttpDependencies, 'apollo' | 'createContext' | 'config'> & {
  maxBodyBytes: number;
};

/** A JSON body is parsed; any other body reaches Apollo as text, and Apollo answers it (CSRF, 400). */
function parseBody(request: FastifyRequest, body: string): unknown {
  const isJson = (request.headers['content-type'] ?? '').toLowerCase().includes('json');
  return isJson && body.length > 0 ? JSON.parse(body) : body;
}

function hasQueryString(url: string): boolean {
  const start = url.indexOf('?');
  return start !== -1 && start < url.length - 1;
}

function wantsGraphiQL(request: FastifyRequest): boolean {
  return (
    request.method === 'GET' && (request.headers.accept ?? '').includes('text/html') && !hasQueryString(request.url)
  );
}

/** The query of a POST body or of a GET's query string, as Apollo will read it. */
function queryText(request: FastifyRequest): unknown {
  if (request.method === 'GET') return (request.query as Record<string, unknown> | undefined)?.query;
  const body = request.body;
  return body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>).query : undefined;
}

/** The Apollo integration builds a URL from the Host header: one no URL can hold is a malformed request. */
function hasUsableHost(request: FastifyRequest): boolean {
  return URL.canParse(`${request.protocol}://${request.hostname}/`);
}

/**
 * `/graphql` for every method, as Apollo decides what each one gets (GET and POST, 405 otherwise);
 * a browser's plain GET gets GraphiQL, or with GRAPHIQL=false the 404 of a path that serves nothing.
 * Encapsulated: its body parsing applies to this route only.
 */
export async function graphqlRoute(app: FastifyInstance, options: GraphQLRouteOptions): Promise<void> {
  const executeGraphQL = fastifyApolloHandler(options.apollo, {
    // A context that cannot be built (the database is down) is answered by the error formatter,
    // which Apollo calls without a context: the error carries its request's id there.
    context: (request, reply) =>
      options.createContext(request.raw, request.scope, responseCookies(reply)).catch((error: unknown) => {
        noteRequestOf(error, request.scope.requestId);
        throw error;
      }),
  });
  const answerGraphQL = (request: FastifyRequest<{ Reply: string }>, reply: FastifyReply<{ Reply: string }>) => {
    if (!hasUsableHost(request)) return sendGraphQLError(reply, 400, 'request.invalid_input');
    if (nestsFragmentsTooDeeply(queryText(request))) return sendGraphQLError(reply, 400, 'query.too_deep');
    return executeGraphQL.call(app, request, reply);
  };

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    try {
      done(null, parseBody(request, body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  // Fastify refuses a Content-Type it cannot read (415) before any parser runs; such a body was
  // always text to Apollo, so it still is.
  app.setErrorHandler<FastifyError, { Reply: string }>(async (error, request, reply) => {
    if (error.code !== 'FST_ERR_CTP_INVALID_MEDIA_TYPE') throw error;
    request.body = await readBody(request.raw, options.maxBodyBytes);
    return answerGraphQL(request, reply);
  });

  const graphiqlPage = options.config.graphiql ? renderGraphiqlPage(options.config) : null;
  app.all<{ Reply: string }>('/graphql', async (request, reply) => {
    if (wantsGraphiQL(request)) {
      if (graphiqlPage === null) return sendNotFound(reply);
      return reply
        .headers({ 'content-type': 'text/html; charset=utf-8', 'content-security-policy': GRAPHIQL_CSP })
        .send(graphiqlPage);
    }
    return answerGraphQL(request, reply);
  });
}
