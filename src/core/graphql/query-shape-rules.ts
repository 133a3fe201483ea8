import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import type { GraphQLError, ValidationContext, ValidationRule } from 'graphql';
import type { ErrorKey } from '../errors/error-codes';
import { RequestRefusal } from './request-refusal';

const MAX_DIRECTIVES = 50;

/**
 * graphql-armor throws by default, which Apollo treats as an unexpected error (a 500); reported to
 * the validation context instead, a rejection is an ordinary 400 validation failure. Each limit
 * reports its own reason, which survives Apollo wrapping it as GRAPHQL_VALIDATION_FAILED.
 */
function refuseAs(key: ErrorKey, details: Record<string, number>) {
  return {
    exposeLimits: true,
    propagateOnRejection: false,
    onReject: [
      (context: ValidationContext | null, error: GraphQLError) =>
        context?.reportError(
          new RequestRefusal(key, { message: error.message.replace(/^Syntax Error: /, ''), details }),
        ),
    ],
  };
}

/** The shape limits every document must pass before it is executed (or its cost computed). */
export function queryShapeRules(limits: { maxDepth: number; maxAliases: number }): ValidationRule[] {
  return [
    maxDepthRule({
      n: limits.maxDepth,
      ignoreIntrospection: true,
      // Depth is how deep fields nest; spreading a fragment adds no level of its own.
      flattenFragments: true,
      ...refuseAs('query.too_deep', { maxDepth: limits.maxDepth }),
    }),
    maxAliasesRule({ n: limits.maxAliases, ...refuseAs('query.too_many_aliases', { maxAliases: limits.maxAliases }) }),
    maxDirectivesRule({
      n: MAX_DIRECTIVES,
      ...refuseAs('query.too_many_directives', { maxDirectives: MAX_DIRECTIVES }),
    }),
  ];
}
