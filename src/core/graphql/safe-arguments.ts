import type { ApolloServerPlugin } from '@apollo/server';
import {
  BREAK,
  Kind,
  visit,
  type DocumentNode,
  type OperationDefinitionNode,
  type ValueNode,
  type VariableDefinitionNode,
} from 'graphql';
import type { GraphQLContext } from '../context/context';
import { RequestRefusal } from './request-refusal';
import { isSafeText } from './safe-text';

type Variables = Record<string, unknown>;

/** The path of the first unsafe string in a variable's JSON value, e.g. `input.name` (lists add no index). */
function unsafeInJson(value: unknown, path: string): string | null {
  if (typeof value === 'string') return isSafeText(value) ? null : path;
  if (value === null || typeof value !== 'object') return null;
  for (const [key, item] of Object.entries(value)) {
    const found = unsafeInJson(item, Array.isArray(value) ? path : `${path}.${key}`);
    if (found) return found;
  }
  return null;
}

/** The same for a literal in the document; a variable is looked up in what the client sent. */
function unsafeInLiteral(
  value: ValueNode,
  path: string,
  variables: Variables,
  definitions: ReadonlyMap<string, VariableDefinitionNode>,
): string | null {
  switch (value.kind) {
    case Kind.STRING:
      return isSafeText(value.value) ? null : path;
    case Kind.LIST:
      for (const item of value.values) {
        const found = unsafeInLiteral(item, path, variables, definitions);
        if (found) return found;
      }
      return null;
    case Kind.OBJECT:
      for (const field of value.fields) {
        const found = unsafeInLiteral(field.value, `${path}.${field.name.value}`, variables, definitions);
        if (found) return found;
      }
      return null;
    case Kind.VARIABLE: {
      const name = value.name.value;
      if (name in variables) return unsafeInJson(variables[name], path);
      const fallback = definitions.get(name)?.defaultValue;
      return fallback ? unsafeInLiteral(fallback, path, variables, definitions) : null;
    }
    default:
      return null;
  }
}

/**
 * The argument (e.g. `input.name`) of the first string the operation would receive that is unsafe
 * to store, from literals, variables and variables' defaults, in the operation and its fragments.
 */
export function findUnsafeArgument(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Variables,
): string | null {
  const definitions = new Map((operation.variableDefinitions ?? []).map((node) => [node.variable.name.value, node]));
  let found: string | null = null;
  for (const definition of document.definitions) {
    if (definition !== operation && definition.kind !== Kind.FRAGMENT_DEFINITION) continue;
    visit(definition, {
      Argument(node) {
        found = unsafeInLiteral(node.value, node.name.value, variables, definitions);
        return found ? BREAK : undefined;
      },
    });
    if (found) return found;
  }
  return null;
}

/**
 * Input hardening in one place, before any resolver, permission rule or query runs: a string
 * argument with NUL or an unpaired surrogate is refused as BAD_USER_INPUT naming the argument.
 */
export function safeArgumentsPlugin(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        // Not async: thrown synchronously, the refusal keeps later plugins from seeing the input.
        didResolveOperation({ document, operation, request }) {
          const field = operation && findUnsafeArgument(document, operation, request.variables ?? {});
          if (field) throw new RequestRefusal('request.unsafe_text', { field });
          return Promise.resolve();
        },
      };
    },
  };
}
