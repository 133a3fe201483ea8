import type { ApolloServerPlugin } from '@apollo/server';
import {
  getNamedType,
  getNullableType,
  getVariableValues,
  isListType,
  type DocumentNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { getComplexity, type ComplexityEstimator } from 'graphql-query-complexity';
import type { GraphQLContext } from '../context/context';
import { DEFAULT_PAGE_SIZE, isConnection, MAX_PAGE_SIZE } from './connection';
import { RequestRefusal } from './request-refusal';

/**
 * A plain list (an org's roles, teams or groups, a user's memberships) has no page size of its own
 * and returns every item, so it counts as the largest page (issue 10's cost model). Nested plain
 * lists therefore add up fast: a client asks for them one level at a time, or through connections.
 */
export const PLAIN_LIST_SIZE = MAX_PAGE_SIZE;

/**
 * Selections visited with fragments expanded; beyond this the query is refused without a cost.
 * Fragments re-used at many places multiply, and the count keeps that walk itself bounded.
 */
const MAX_SELECTIONS_VISITED = 10_000;

/**
 * Fields whose work grows with the org rather than with the selection: they read or rewrite a whole
 * table's worth of an org (every member, the whole audit chain, every grant of a resource, up to
 * MAX_IMPORT_ROWS lines, where one CSV variable can feed every alias). The estimate cannot see that
 * size, so each costs a fixed share of the limit and an operation holds at most this many of them.
 */
export const WHOLE_ORG_FIELDS_PER_OPERATION = 4;
export const WHOLE_ORG_FIELDS: ReadonlySet<string> = new Set([
  'Query.exportUsers',
  'Query.verifyAuditChain',
  'Mutation.importUsers',
  'Mutation.pruneAuditLogs',
  'Mutation.revokeAllAccess',
]);

/** How many times a field's selection runs: its page size, a plain list's bound, or once. */
function multiplier(parent: GraphQLNamedType, field: GraphQLField<unknown, unknown>, args: Record<string, unknown>) {
  if (isConnection(getNamedType(field.type)) && field.args.some((arg) => arg.name === 'first')) {
    // Out-of-range pages are refused by the argument's own validation, naming `first`.
    const first = typeof args.first === 'number' ? args.first : DEFAULT_PAGE_SIZE;
    return Math.min(Math.max(first, 1), MAX_PAGE_SIZE);
  }
  // A connection's edges are already counted by its page size.
  if (isConnection(parent) && field.name === 'edges') return 1;
  return isListType(getNullableType(field.type)) ? PLAIN_LIST_SIZE : 1;
}

/**
 * Every selected field costs 1 times the product of the lists around it; a whole-org field costs
 * its share of `maxCost` instead of 1 (rounded up, so one more never fits). Introspection
 * (`__schema`, `__type`, `__typename`) costs nothing: it reads the schema, not the database.
 */
function fieldEstimator(maxCost: number): ComplexityEstimator {
  const wholeOrgCost = Math.ceil(maxCost / WHOLE_ORG_FIELDS_PER_OPERATION);
  return ({ type, field, args, childComplexity }) => {
    if (field.name.startsWith('__')) return 0;
    const own = WHOLE_ORG_FIELDS.has(`${type.name}.${field.name}`) ? wholeOrgCost : 1;
    return own + multiplier(type, field, args) * childComplexity;
  };
}

/**
 * The cost of the operation about to run, or null when its variables are invalid (execution then
 * refuses it without running anything). Throws when the fragment walk grows beyond its bound.
 */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
  maxCost: number,
): number | null {
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables);
  if (coerced.errors) return null;
  return getComplexity({
    schema,
    query: document,
    variables,
    operationName: operation.name?.value,
    estimators: [fieldEstimator(maxCost)],
    maxQueryNodes: MAX_SELECTIONS_VISITED,
  });
}

/** Costs remembered per variables for one parsed document; bounds, so varied or large variables cannot grow it. */
const COSTS_PER_DOCUMENT = 32;
const REMEMBERED_KEY_LENGTH = 1024;

/**
 * Refuses, before execution, an operation that costs more than `maxCost` (docs/security.md).
 * Apollo hands a repeated query the document it validated before (its document store), so the cost
 * of a document and its variables is remembered with that document (a WeakMap: it goes when Apollo
 * drops the document): an attacker repeating an expensive query is refused without walking it again.
 */
export function queryCostPlugin(maxCost: number): ApolloServerPlugin<GraphQLContext> {
  const remembered = new WeakMap<DocumentNode, Map<string, number | null | Error>>();
  const costOf = (
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Record<string, unknown>,
  ): number | null => {
    const key = `${operation.name?.value ?? ''}\u0000${JSON.stringify(variables)}`;
    let costs = remembered.get(document);
    if (!costs) remembered.set(document, (costs = new Map()));
    let cost = costs.get(key);
    if (cost === undefined) {
      try {
        cost = operationCost(schema, document, operation, variables, maxCost);
      } catch (error) {
        cost = error as Error;
      }
      if (costs.size < COSTS_PER_DOCUMENT && key.length <= REMEMBERED_KEY_LENGTH) costs.set(key, cost);
    }
    if (cost instanceof Error) throw cost;
    return cost;
  };
  return {
    async requestDidStart() {
      return {
        // Not async: thrown synchronously, the refusal keeps later plugins from doing any work.
        didResolveOperation({ schema, document, operation, request }) {
          if (!operation) return Promise.resolve();
          let cost: number | null;
          try {
            cost = costOf(schema, document, operation, request.variables ?? {});
          } catch (error) {
            // Fail closed: a query the estimator cannot finish is not a cheap one.
            throw new RequestRefusal('query.too_costly', {
              message: `${(error as Error).message} (maximum cost ${maxCost})`,
              details: { maxCost },
            });
          }
          if (cost !== null && cost > maxCost) {
            throw new RequestRefusal('query.too_costly', {
              message: `The query would cost ${cost}, more than the maximum of ${maxCost}`,
              details: { cost, maxCost },
            });
          }
          return Promise.resolve();
        },
      };
    },
  };
}
