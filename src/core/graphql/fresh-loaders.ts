import { createLoaders } from '../../loaders';
import type { FieldLayer } from './field-layers';

/**
 * Loaders cache rows for the rest of the request; once a mutation has committed, what they read
 * before it (often in its own permission rules) is stale, so each root mutation gets fresh ones.
 * The layer of every root Mutation field, innermost.
 */
export const freshLoadersAfterMutation: FieldLayer = async (resolve, parent, args, context, info) => {
  const result = await resolve(parent, args, context, info);
  context.loaders = createLoaders(context.db);
  return result;
};
