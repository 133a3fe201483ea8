import type { MiddlewareFn } from 'type-graphql';
import type { GraphQLContext } from '../context/context';
import { createLoaders } from '../../loaders';

/**
 * Loaders cache rows for the rest of the request; once a mutation has committed, what they read
 * before it (often in its own permission rules) is stale, so each root mutation gets fresh ones.
 */
export const freshLoadersAfterMutation: MiddlewareFn<GraphQLContext> = async ({ info, context }, next) => {
  const result = await next();
  if (info.parentType.name === 'Mutation') context.loaders = createLoaders(context.db);
  return result;
};
