import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLContext } from '../context/context';
import { noteRequestOf } from '../context/request-scope';

/**
 * Notes each error's request for the error formatter, which Apollo calls without the context:
 * masked errors and their log lines name the request. Apollo reports errors here before it
 * formats them.
 */
export function requestIdPlugin(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart({ contextValue }) {
      return {
        async didEncounterErrors({ errors }) {
          for (const error of errors) noteRequestOf(error, contextValue.requestId);
        },
      };
    },
  };
}
