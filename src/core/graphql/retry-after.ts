import type { ApolloServerPlugin, BaseContext } from '@apollo/server';

/**
 * A response refused by an abuse limit carries `Retry-After` (RFC 9110) with the longest wait
 * its RATE_LIMITED errors name, so HTTP clients and proxies back off without reading the body.
 */
export function retryAfterPlugin<Context extends BaseContext>(): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          const body = response.body;
          const errors = body.kind === 'single' ? body.singleResult.errors : body.initialResult.errors;
          const waits = (errors ?? [])
            .filter((error) => error.extensions?.code === 'RATE_LIMITED')
            .map((error) => Number(error.extensions?.retryAfter))
            .filter((seconds) => Number.isInteger(seconds) && seconds > 0);
          if (waits.length > 0) response.http.headers.set('retry-after', String(Math.max(...waits)));
        },
      };
    },
  };
}
