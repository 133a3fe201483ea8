import type { ApolloServerPlugin, GraphQLRequestContextWillSendResponse } from '@apollo/server';
import { Kind, type DocumentNode, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import type { GraphQLContext } from '../context/context';
import { truncatedOperationName, type RequestObservation } from './request-observation';

/**
 * Fills in the request's observation: the operation's name (as sent, or as the document names it once
 * resolved), its root fields once resolved and validated, and at the end who the caller was and the
 * first error's code. Listed first among the plugins: later ones may refuse an operation by throwing
 * in didResolveOperation, which skips every plugin after them.
 */
export function requestObservationPlugin(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart({ request, contextValue }) {
      // An operation run without an HTTP request (executeOperation) has nothing to report to.
      const observation: RequestObservation = contextValue.observation ?? {};
      observation.operationName = truncatedOperationName(request.operationName);
      return {
        async didResolveOperation({ operation, operationName, document }) {
          // A document's only operation may be named there rather than in the request.
          observation.operationName = truncatedOperationName(operationName) ?? observation.operationName;
          if (operation) observation.rootFields = rootFieldsOf(operation, document);
        },
        async willSendResponse({ response, contextValue: context }) {
          observation.principal = context.principal;
          observation.outcome = firstErrorCode(response) ?? 'ok';
        },
      };
    },
  };
}

/** Field names, not aliases; fragments spread at the root count as their fields. */
function rootFieldsOf(operation: OperationDefinitionNode, document: DocumentNode): string[] {
  const fragments = new Map(
    document.definitions.flatMap((definition) =>
      definition.kind === Kind.FRAGMENT_DEFINITION ? [[definition.name.value, definition.selectionSet] as const] : [],
    ),
  );
  const names = new Set<string>();
  const visited = new Set<string>();
  const collect = (selections: SelectionSetNode) => {
    for (const selection of selections.selections) {
      if (selection.kind === Kind.FIELD) names.add(selection.name.value);
      else if (selection.kind === Kind.INLINE_FRAGMENT) collect(selection.selectionSet);
      else if (!visited.has(selection.name.value)) {
        visited.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) collect(fragment);
      }
    }
  };
  collect(operation.selectionSet);
  return [...names];
}

function firstErrorCode(response: GraphQLRequestContextWillSendResponse<GraphQLContext>['response']) {
  if (response.body.kind !== 'single') return undefined;
  const extensions = response.body.singleResult.errors?.[0]?.extensions;
  const code = extensions?.reason ?? extensions?.code;
  return typeof code === 'string' ? code : undefined;
}
