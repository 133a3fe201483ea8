import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import type { GraphQLError, GraphQLSchema, ValidationContext } from 'graphql';
import type { Config } from '../config/config';
import type { GraphQLContext } from '../context/context';
import { createErrorFormatter } from '../errors/format-error';
import type { Logger } from '../logger';
import { retryAfterPlugin } from './retry-after';

const MAX_DIRECTIVES = 50;

/**
 * graphql-armor throws by default, which Apollo treats as an unexpected error (a 500); reported to
 * the validation context instead, a rejection is an ordinary 400 validation failure.
 */
const reportToContext = {
  exposeLimits: true,
  propagateOnRejection: false,
  onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(error)],
};

export function createApollo(schema: GraphQLSchema, config: Config, logger: Logger): ApolloServer<GraphQLContext> {
  return new ApolloServer<GraphQLContext>({
    schema,
    csrfPrevention: true,
    // main.ts owns SIGTERM/SIGINT and stops Apollo once, in order, with everything else.
    stopOnTerminationSignals: false,
    introspection: config.env !== 'production',
    hideSchemaDetailsFromClientErrors: true,
    includeStacktraceInErrorResponses: false,
    formatError: createErrorFormatter(logger),
    validationRules: [
      maxDepthRule({ n: config.limits.maxDepth, ignoreIntrospection: true, ...reportToContext }),
      maxAliasesRule({ n: config.limits.maxAliases, ...reportToContext }),
      maxDirectivesRule({ n: MAX_DIRECTIVES, ...reportToContext }),
    ],
    // GraphiQL is served from local assets by the HTTP layer; Apollo's page would load a CDN.
    plugins: [retryAfterPlugin(), ApolloServerPluginLandingPageDisabled()],
    logger: {
      debug: (message) => logger.debug(message),
      info: (message) => logger.info(message),
      warn: (message) => logger.warn(message),
      error: (message) => logger.error(message),
    },
  });
}
