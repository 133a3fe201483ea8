import type { ApolloServerPlugin } from '@apollo/server';
import {
  getNamedType,
  getNullableType,
  isListType,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLOutputType,
} from 'graphql';
import type { GraphQLContext } from '../context/context';
import { AppError } from '../errors/app-error';
import { isConnection } from './connection';
import type { FieldLayer } from './field-layers';

/**
 * The items every list of one operation returned so far, against what the operation may read.
 * The cost estimate bounds the query's shape before execution, taking each plain list as a page
 * of 100; this bounds the items actually returned, which only execution knows.
 */
export type ListBudget = { items: number; readonly maxItems: number };

function refusal(maxItems: number): AppError {
  const error = new AppError('query.too_costly', {
    message:
      `The query's lists returned more than ${maxItems} items; page through them with a connection ` +
      'such as users(filter: { teamId }), or ask for fewer lists in one operation',
  });
  Object.assign(error.extensions, { maxCost: maxItems });
  return error;
}

function returnsList(type: GraphQLOutputType): boolean {
  return isListType(getNullableType(type));
}

/** Each operation starts with an unspent budget of `maxItems`, kept in its own context. */
export function listBudgetPlugin(maxItems: number): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart({ contextValue }) {
      contextValue.listBudget = { items: 0, maxItems };
    },
  };
}

/**
 * Counts the items of every list a field resolves to, plain lists and connection edges alike. The
 * list that takes the operation past its budget is refused, and so is every later list, connection
 * or mutation of it, before it runs: no item past the budget is resolved, so a few aliases of a
 * large team's members cannot make the gateway serialise megabytes.
 *
 * `inputBounded` names lists (`Type.field`) that only report on the request's own input, such as
 * an import's per-line results: the body size bounds them, the cost estimate charges the operation
 * that produces them, and refusing them would hide the outcome of a write that has committed.
 *
 * Only fields that would read more items or write (lists, connections, mutations) get the layer,
 * chosen when the schema is built: any other field has nothing to count and nothing to refuse.
 */
export function listBudgetLayer(
  inputBounded: ReadonlySet<string>,
  type: GraphQLObjectType,
  field: GraphQLField<unknown, unknown>,
  isMutation: boolean,
): FieldLayer | null {
  const list = returnsList(field.type);
  if (!isMutation && !list && !isConnection(getNamedType(field.type))) return null;
  const counted = list && !inputBounded.has(`${type.name}.${field.name}`);
  return async (resolve, parent, args, context, info) => {
    const budget = context.listBudget;
    // Fail closed: a context built without the plugin would otherwise read without a limit.
    if (!budget) throw new Error('the operation has no list budget: listBudgetPlugin is not installed');
    if (budget.items > budget.maxItems) throw refusal(budget.maxItems);
    const result: unknown = await resolve(parent, args, context, info);
    // A scalar's value may be an array too (JSON); only a list's items are resolved one by one.
    if (counted && Array.isArray(result)) {
      budget.items += result.length;
      if (budget.items > budget.maxItems) throw refusal(budget.maxItems);
    }
    return result;
  };
}
