import fastifyCors, { type FastifyCorsOptions } from '@fastify/cors';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sendGraphQLError } from './replies';

/**
 * The only paths a browser app on another origin calls; anything else (forward auth, health,
 * audit export, pages) is for servers or for the gateway's own origin and never answers CORS.
 */
const CORS_METHODS: Readonly<Record<string, string[]>> = {
  '/graphql': ['GET', 'POST'],
  '/auth/refresh': ['POST'],
  '/auth/logout': ['POST'],
};

const ALLOWED_HEADERS = [
  'content-type',
  'authorization',
  'x-portcullis-csrf',
  'apollo-require-preflight',
  'x-apollo-operation-name',
];

/** What a page may read of an answer beyond the CORS-safelisted headers. */
const EXPOSED_HEADERS = ['retry-after', 'x-request-id'];

/** Browsers may cache a preflight answer this long (seconds); Chromium caps it at 7200. */
const PREFLIGHT_MAX_AGE = 600;

function pathOf(request: FastifyRequest): string {
  const query = request.url.indexOf('?');
  return query === -1 ? request.url : request.url.slice(0, query);
}

function corsMethodsOf(request: FastifyRequest): string[] | undefined {
  const path = pathOf(request);
  return Object.hasOwn(CORS_METHODS, path) ? CORS_METHODS[path] : undefined;
}

/**
 * Cross-origin access with credentials for CORS_ORIGINS only, compared as exact strings (config.ts
 * accepts only exact origins, never `null`). An origin not listed gets no `Access-Control-*`
 * header at all: @fastify/cors would still send Allow-Credentials and Expose-Headers to it.
 */
export async function registerCors(app: FastifyInstance, origins: readonly string[]): Promise<void> {
  const allowed = new Set(origins);
  const isAllowed = (request: FastifyRequest) => allowed.has(request.headers.origin ?? '');

  await app.register(fastifyCors, {
    // A per-request answer makes @fastify/cors send `Vary: Origin` with every response, refused
    // or not, so a cache never serves one origin's answer to another.
    delegator: (request, callback) => {
      const methods = corsMethodsOf(request);
      const options: FastifyCorsOptions =
        methods && isAllowed(request)
          ? {
              origin: request.headers.origin,
              credentials: true,
              methods,
              allowedHeaders: ALLOWED_HEADERS,
              exposedHeaders: EXPOSED_HEADERS,
              maxAge: PREFLIGHT_MAX_AGE,
              // Any OPTIONS from a listed origin gets the preflight answer, never a text/plain 400.
              strictPreflight: false,
            }
          : { origin: false };
      callback(null, options);
    },
  });

  // A refused preflight is answered here, so it never reaches Apollo (which would answer 400) or
  // the routes behind it.
  app.addHook('onRequest', (request, reply, done) => {
    if (request.method !== 'OPTIONS' || !corsMethodsOf(request) || isAllowed(request)) return done();
    void sendGraphQLError(reply, 403, 'request.origin_not_allowed');
  });
}
