import type { ApolloServerPlugin, BaseContext } from '@apollo/server';

/** The codes whose errors name a wait in `extensions.retryAfter` (seconds). */
const RETRYABLE_CODES = new Set(['RATE_LIMITED', 'SERVICE_UNAVAILABLE']);

/**
 * A response refused by an abuse limit or a database outage carries `Retry-After` (RFC 9110) with
 * the longest wait its errors name, so HTTP clients and proxies back off without reading the body.
 * An outage also answers 503, so load balancers and clients tell it from a bug (500) or a refusal.
 * Set on Apollo's response, not by the HTTP server, so it holds whatever server carries Apollo.
 */
export function retryAfterPlugin<Context extends BaseContext>(): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          const body = response.body;
          const errors = (body.kind === 'single' ? body.singleResult.errors : body.initialResult.errors) ?? [];
          const waits = errors
            .filter((error) => RETRYABLE_CODES.has(String(error.extensions?.code)))
            .map((error) => Number(error.extensions?.retryAfter))
            .filter((seconds) => Number.isInteger(seconds) && seconds > 0);
          if (waits.length > 0) response.http.headers.set('retry-after', String(Math.max(...waits)));
          if (errors.some((error) => error.extensions?.code === 'SERVICE_UNAVAILABLE')) response.http.status = 503;
        },
      };
    },
  };
}
