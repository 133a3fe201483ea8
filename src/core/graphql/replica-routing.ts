import type { ApolloServerPlugin } from '@apollo/server';
import { Kind, type DocumentNode, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import type { GraphQLContext } from '../context/context';
import { CallerAccess } from '../permissions/caller-access';
import { createLoaders } from '../../loaders';

/**
 * Queries that stay on the primary whatever the lag: `checkAccess` answers an access decision for
 * a backend, which is authority and must be as current as forward auth; `verifyAuditChain` links
 * committed records into their chains first, a write.
 */
const PRIMARY_QUERIES: ReadonlySet<string> = new Set(['checkAccess', 'verifyAuditChain']);

/**
 * Sends the data reads of a read-only query to a replica (core/db/replica-reads.ts decides
 * whether and which). Mutations run wholly on the primary, the reads of their result included,
 * and open the read-your-writes window of the principal who made them and of whoever they signed
 * in. The context is built before the operation is known, so the choice is made here, once the
 * operation is resolved: `db` and `loaders` move to the replica, while the caller's authority
 * (`access`: roles and memberships) keeps reading the primary, as credential checks do.
 */
export function replicaRoutingPlugin(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      /** Who ran the request's mutation; undefined when no mutation got past the checks. */
      let mutationBy: string | null | undefined;
      return {
        async didResolveOperation({ contextValue: ctx, operation, document }) {
          const principalId = ctx.principal?.userId ?? null;
          if (operation?.operation === 'mutation') mutationBy = principalId;
          if (operation?.operation !== 'query' || namesAny(rootFields(operation, document), PRIMARY_QUERIES)) return;
          const replica = ctx.replicaReads.replicaFor(principalId);
          if (!replica) return;
          const primaryLoaders = ctx.loaders;
          ctx.db = replica;
          ctx.loaders = createLoaders(replica);
          ctx.access = new CallerAccess(
            () => ctx.principal,
            () => primaryLoaders,
          );
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

/** The operation's root field names, through fragments too. */
function rootFields(operation: OperationDefinitionNode, document: DocumentNode): Set<string> {
  const names = new Set<string>();
  const visit = (selectionSet: SelectionSetNode, seen: Set<string>) => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) names.add(selection.name.value);
      else if (selection.kind === Kind.INLINE_FRAGMENT) visit(selection.selectionSet, seen);
      else if (!seen.has(selection.name.value)) {
        const name = selection.name.value;
        const fragment = document.definitions.find(
          (definition) => definition.kind === Kind.FRAGMENT_DEFINITION && definition.name.value === name,
        );
        if (fragment?.kind === Kind.FRAGMENT_DEFINITION) visit(fragment.selectionSet, new Set([...seen, name]));
      }
    }
  };
  visit(operation.selectionSet, new Set());
  return names;
}

function namesAny(names: ReadonlySet<string>, wanted: ReadonlySet<string>): boolean {
  for (const name of names) if (wanted.has(name)) return true;
  return false;
}
