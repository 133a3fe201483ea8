import { deny, shield } from 'graphql-shield';
import type { IRules, ShieldRule } from 'graphql-shield/typings/types';
import type { GraphQLContext } from '../context/context';
import { AppError } from '../errors/app-error';

type RuleMap = Record<string, ShieldRule | Record<string, ShieldRule>>;

/**
 * Merges the per-module rule maps. A type-wide rule from one module and field rules from another
 * combine as `'*'` plus those fields; two modules ruling the same field is a programming error.
 */
export function mergeRuleMaps(maps: RuleMap[]): IRules {
  const merged: Record<string, Record<string, ShieldRule>> = {};
  for (const map of maps) {
    for (const [typeName, rules] of Object.entries(map)) {
      const existing = merged[typeName] ?? {};
      for (const [field, rule] of Object.entries(asFieldMap(rules))) {
        if (field in existing) throw new Error(`shield rule ${typeName}.${field} is defined twice`);
        existing[field] = rule;
      }
      merged[typeName] = existing;
    }
  }
  return merged as IRules;
}

function asFieldMap(rules: ShieldRule | Record<string, ShieldRule>): Record<string, ShieldRule> {
  const isFieldMap = typeof rules === 'object' && rules !== null && rules.constructor === Object;
  return isFieldMap ? (rules as Record<string, ShieldRule>) : { '*': rules as ShieldRule };
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
