import type { ApolloServerPlugin } from '@apollo/server';
import {
  BREAK,
  getVariableValues,
  Kind,
  visit,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValueNode,
} from 'graphql';
import type { GraphQLContext } from '../context/context';
import { RequestRefusal } from './request-refusal';
import { isSafeText } from './safe-text';

type Variables = Record<string, unknown>;

/** What a walk over argument values looks for: a path when a string or a variable matches. */
type Search = { text(value: string, path: string): string | null; variable(name: string, path: string): string | null };

function findInLiteral(value: ValueNode, path: string, search: Search): string | null {
  switch (value.kind) {
    case Kind.STRING:
      return search.text(value.value, path);
    case Kind.LIST:
      for (const item of value.values) {
        const found = findInLiteral(item, path, search);
        if (found) return found;
      }
      return null;
    case Kind.OBJECT:
      for (const field of value.fields) {
        const found = findInLiteral(field.value, `${path}.${field.name.value}`, search);
        if (found) return found;
      }
      return null;
    case Kind.VARIABLE:
      return search.variable(value.name.value, path);
    default:
      return null;
  }
}

/** The first argument path (e.g. `input.name`) where the search matches, in the operation and its fragments. */
function findArgument(document: DocumentNode, operation: OperationDefinitionNode, search: Search): string | null {
  let found: string | null = null;
  for (const definition of document.definitions) {
    if (definition !== operation && definition.kind !== Kind.FRAGMENT_DEFINITION) continue;
    visit(definition, {
      Argument(node) {
        found = findInLiteral(node.value, node.name.value, search);
        return found ? BREAK : undefined;
      },
    });
    if (found) return found;
  }
  return null;
}

/**
 * The path of the first unsafe string in a variable's JSON value (lists add no index). A loop, not
 * recursion: a client can nest a variable's JSON far deeper than the call stack goes.
 */
function unsafeInJson(value: unknown, path: string): string | null {
  const pending: Array<[unknown, string]> = [[value, path]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [item, itemPath] = next;
    if (typeof item === 'string') {
      if (!isSafeText(item)) return itemPath;
    } else if (item !== null && typeof item === 'object') {
      // Reversed onto the stack, so the first unsafe string in document order is the one reported.
      const entries = Object.entries(item).reverse();
      for (const [key, child] of entries) pending.push([child, Array.isArray(item) ? itemPath : `${itemPath}.${key}`]);
    }
  }
  return null;
}

/**
 * The argument of the first string the operation would receive that is unsafe to store: from
 * literals, from the variables sent, or from a variable's default when it was not sent.
 */
export function findUnsafeArgument(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Variables,
): string | null {
  const definitions = new Map((operation.variableDefinitions ?? []).map((node) => [node.variable.name.value, node]));
  const search: Search = {
    text: (text, path) => (isSafeText(text) ? null : path),
    variable: (name, path) => {
      if (name in variables) return unsafeInJson(variables[name], path);
      const fallback = definitions.get(name)?.defaultValue;
      return fallback ? findInLiteral(fallback, path, search) : null;
    },
  };
  return findArgument(document, operation, search);
}

/**
 * A variable the schema cannot accept (wrong type, an Int beyond 32 bits, a missing field) as a
 * refusal naming the argument it is passed to; GraphQL itself would name only the variable.
 */
function invalidVariable(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Variables,
): RequestRefusal | null {
  const { errors } = getVariableValues(schema, operation.variableDefinitions ?? [], variables, { maxErrors: 1 });
  const error = errors?.[0];
  if (!error) return null;
  const definition = error.nodes?.[0];
  const variable = definition?.kind === Kind.VARIABLE_DEFINITION ? definition.variable.name.value : null;
  const field = variable
    ? findArgument(document, operation, {
        text: () => null,
        variable: (name, path) => (name === variable ? path : null),
      })
    : null;
  return new RequestRefusal('request.invalid_input', { message: error.message, ...(field ? { field } : {}) });
}

/**
 * Input hardening in one place, before any resolver, permission rule or query runs: a string with
 * NUL or an unpaired surrogate, or a variable of the wrong type or range, is refused as
 * BAD_USER_INPUT naming the argument.
 */
export function argumentChecksPlugin(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        // Not async: thrown synchronously, the refusal keeps later plugins from seeing the input.
        didResolveOperation({ schema, document, operation, request }) {
          if (!operation) return Promise.resolve();
          const variables = request.variables ?? {};
          const unsafe = findUnsafeArgument(document, operation, variables);
          if (unsafe) throw new RequestRefusal('request.unsafe_text', { field: unsafe });
          const invalid = invalidVariable(schema, document, operation, variables);
          if (invalid) throw invalid;
          return Promise.resolve();
        },
      };
    },
  };
}
