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
 * otherwise. Anything thrown, by a rule or by a resolver, goes on to the error formatter, which
 * keeps catalogued errors, answers a database outage SERVICE_UNAVAILABLE and masks the rest.
 * graphql-shield's `debug` is what lets a rule's error through: without it, a rule that throws
 * counts as denied, and a database that went away answered FORBIDDEN.
 */
export function createShield(rules: IRules) {
  return shield(rules, {
    fallbackRule: deny,
    allowExternalErrors: false,
    debug: true,
    fallbackError: async (_thrown, _parent, _args, shieldContext): Promise<Error> => {
      const ctx = shieldContext as unknown as GraphQLContext;
      if (!ctx.principal) return ctx.authError ?? new AppError('auth.unauthenticated');
      return new AppError('auth.forbidden');
    },
  });
}
