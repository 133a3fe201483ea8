import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLContext } from '../context/context';
import { CallerAccess } from '../permissions/caller-access';

/**
 * Gives the operation a CallerAccess that reads the context the operation really runs on. Apollo
 * runs each operation on a shallow copy of the context createContext built, and a sign-in sets the
 * copy's `principal` and each root mutation renews the copy's `loaders` (fresh-loaders.ts): an
 * access built in createContext would keep reading the original's, so checks after a sign-in saw
 * no caller, and checks after a mutation read permissions cached before it.
 */
export function callerAccessPlugin(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart({ contextValue }) {
      contextValue.access = new CallerAccess(
        () => contextValue.principal,
        () => contextValue.loaders,
      );
    },
  };
}
