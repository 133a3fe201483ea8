import { ApolloServer } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import type { GraphQLSchema } from 'graphql';
import type { Config } from '../config/config';
import type { GraphQLContext } from '../context/context';
import { createErrorFormatter } from '../errors/format-error';
import type { Logger } from '../logger';
import { requestObservationPlugin } from '../observability/graphql-observation';
import { argumentChecksPlugin } from './argument-checks';
import { callerAccessPlugin } from './caller-access-plugin';
import { listBudgetPlugin } from './list-budget';
import { knownOperationTypeRule } from './operation-type-rule';
import { queryCostPlugin } from './query-cost';
import { queryShapeRules } from './query-shape-rules';
import { replicaRoutingPlugin } from './replica-routing';
import { requestIdPlugin } from './request-id';
import { retryAfterPlugin } from './retry-after';

export function createApollo(schema: GraphQLSchema, config: Config, logger: Logger): ApolloServer<GraphQLContext> {
  return new ApolloServer<GraphQLContext>({
    schema,
    csrfPrevention: true,
    // main.ts owns SIGTERM/SIGINT and stops Apollo once, in order, with everything else.
    stopOnTerminationSignals: false,
    introspection: config.introspection,
    hideSchemaDetailsFromClientErrors: true,
    includeStacktraceInErrorResponses: false,
    formatError: createErrorFormatter(logger),
    validationRules: [knownOperationTypeRule, ...queryShapeRules(config.limits)],
    // Automatic persisted queries, as Apollo's clients expect: an unknown hash is answered
    // PERSISTED_QUERY_NOT_FOUND and the client sends the full query once, which passes every check
    // (nesting, shape, cost) before it is remembered. The store is Apollo's default bounded LRU cache
    // (about 30 MiB per process), so registrations cannot grow memory without end.
    persistedQueries: {},
    // The input and cost checks come first, and throw synchronously: Apollo then calls no later
    // plugin's hook, so a refused request does no other work. GraphiQL is served from local assets
    // by the HTTP layer; Apollo's page would load a CDN.
    plugins: [
      callerAccessPlugin(),
      // First to hook didResolveOperation: a later plugin's refusal there skips every plugin after it.
      requestObservationPlugin(),
      requestIdPlugin(),
      argumentChecksPlugin(),
      queryCostPlugin(config.limits.maxCost),
      // The estimate bounds the shape before execution; this budget bounds the items read during it.
      listBudgetPlugin(config.limits.maxCost),
      retryAfterPlugin(),
      // After every check: a refused request reads nothing, and announces no write.
      replicaRoutingPlugin(),
      ApolloServerPluginLandingPageDisabled(),
      // No field sets a cache hint, and answers are per caller: Apollo's default cache-control plugin
      // would only add a hook to every field resolved (a measurable share of a long list's time).
      ApolloServerPluginCacheControlDisabled(),
      // Apollo would otherwise send operation reports to Apollo GraphOS whenever APOLLO_KEY and
      // APOLLO_GRAPH_REF happen to be in the environment: config.ts alone decides what the gateway does.
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
    ],
    logger: {
      debug: (message) => logger.debug(message),
      info: (message) => logger.info(message),
      warn: (message) => logger.warn(message),
      error: (message) => logger.error(message),
    },
  });
}
