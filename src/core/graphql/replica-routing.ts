import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLContext } from '../context/context';
import { createLoaders } from '../../loaders';

/**
 * Lets the opted-in list reads of a read-only query (`listReads`, see ListReads in
 * context/context.ts) go to a replica; core/db/replica-reads.ts decides whether and which. `db` and
 * `loaders` stay on the primary whatever the operation, so every permission, visibility and
 * credential decision — and any read not opted in — sees current data. Mutations run wholly on the
 * primary and open the read-your-writes window of the principal who made them and of whoever they
 * signed in. The context is built before the operation is known, so the choice is made here, once
 * the operation is resolved.
 */
export function replicaRoutingPlugin(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      /** Who ran the request's mutation; undefined when no mutation got past the checks. */
      let mutationBy: string | null | undefined;
      return {
        async didResolveOperation({ contextValue: ctx, operation }) {
          const principalId = ctx.principal?.userId ?? null;
          if (operation?.operation === 'mutation') mutationBy = principalId;
          if (operation?.operation !== 'query') return;
          const replica = ctx.replicaReads.replicaFor(principalId);
          if (replica) ctx.listReads = { db: replica, loaders: createLoaders(replica) };
        },
        async willSendResponse({ contextValue: ctx }) {
          if (mutationBy === undefined) return;
          const principals = [mutationBy, ctx.principal?.userId].filter((id): id is string => typeof id === 'string');
          await ctx.replicaReads.wrote(new Set(principals));
        },
      };
    },
  };
}
