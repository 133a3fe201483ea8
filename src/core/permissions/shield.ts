import { deny, shield } from 'graphql-shield';
import type { IRules, ShieldRule } from 'graphql-shield/typings/types';
import type { GraphQLContext } from '../context/context';
import { AppError } from '../errors/app-error';

type RuleMap = Record<string, ShieldRule | Record<string, ShieldRule>>;

/** Merges the per-module rule maps; two modules ruling the same field is a programming error. */
export function mergeRuleMaps(maps: RuleMap[]): IRules {
  const merged: Record<string, ShieldRule | Record<string, ShieldRule>> = {};
  for (const map of maps) {
    for (const [typeName, rules] of Object.entries(map)) {
      const existing = merged[typeName];
      if (existing === undefined) {
        merged[typeName] = rules;
        continue;
      }
      if (!isFieldMap(existing) || !isFieldMap(rules))
        throw new Error(`shield rules for ${typeName} are defined twice`);
      for (const field of Object.keys(rules)) {
        if (field in existing) throw new Error(`shield rule ${typeName}.${field} is defined twice`);
      }
      merged[typeName] = { ...existing, ...rules };
    }
  }
  return merged as IRules;
}

function isFieldMap(value: unknown): value is Record<string, ShieldRule> {
  return typeof value === 'object' && value !== null && value.constructor === Object;
}

/**
 * Deny by default. A denied rule answers UNAUTHENTICATED to an anonymous caller and FORBIDDEN
 * otherwise; an error thrown by a resolver is passed on to the error formatter, which keeps
 * catalogued errors and masks everything else.
 */
export function createShield(rules: IRules) {
  return shield(rules, {
    fallbackRule: deny,
    allowExternalErrors: false,
    debug: false,
    fallbackError: async (thrown, _parent, _args, shieldContext): Promise<Error> => {
      if (thrown) return thrown instanceof Error ? thrown : new Error(String(thrown));
      const ctx = shieldContext as unknown as GraphQLContext;
      if (!ctx.principal) return ctx.authError ?? new AppError('auth.unauthenticated');
      return new AppError('auth.forbidden');
    },
  });
}
