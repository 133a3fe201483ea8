import { GraphQLError, type ValidationRule } from 'graphql';

/**
 * Refuses an operation whose root type the schema does not have (this schema has no subscriptions).
 * graphql-js checks this only when executing, where the failure is an unexpected error; as a
 * validation failure it is the client's mistake, answered 400 BAD_USER_INPUT.
 */
export const knownOperationTypeRule: ValidationRule = (context) => ({
  OperationDefinition(node) {
    if (context.getSchema().getRootType(node.operation)) return;
    context.reportError(
      new GraphQLError(`This server does not support ${node.operation} operations.`, { nodes: node }),
    );
  },
});
