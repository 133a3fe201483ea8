import type { GraphQLField, GraphQLObjectType, GraphQLSchema } from 'graphql';
import { allow, deny } from 'graphql-shield';
import type { IOptions, IRules, IShieldContext, ShieldRule } from 'graphql-shield/typings/types';
import type { GraphQLContext } from '../context/context';
import { AppError } from '../errors/app-error';
import type { FieldLayer } from '../graphql/field-layers';

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
  return isFieldMap(rules) ? rules : { '*': rules };
}

/** graphql-shield's rules are class instances; a map of field → rule is a plain object. */
function isFieldMap(rules: unknown): rules is Record<string, ShieldRule> {
  return typeof rules === 'object' && rules !== null && rules.constructor === Object;
}

/**
 * Deny by default. A denied rule answers UNAUTHENTICATED to an anonymous caller and FORBIDDEN
 * otherwise. Anything thrown, by a rule or by a resolver, goes on to the error formatter, which
 * keeps catalogued errors, answers a database outage SERVICE_UNAVAILABLE and masks the rest.
 * graphql-shield's `debug` is what lets a rule's error through: without it, a rule that throws
 * counts as denied, and a database that went away answered FORBIDDEN.
 */
export const SHIELD_OPTIONS: IOptions = {
  fallbackRule: deny,
  allowExternalErrors: false,
  debug: true,
  fallbackError: async (_thrown, _parent, _args, shieldContext): Promise<Error> => {
    const ctx = shieldContext as unknown as GraphQLContext;
    if (!ctx.principal) return ctx.authError ?? new AppError('auth.unauthenticated');
    return new AppError('auth.forbidden');
  },
  // Only 'strict' caching hashes, and checkRuleTree refuses it: no rule ever calls this.
  hashFunction: () => {
    throw new Error('strict shield caching is not supported');
  },
};

/**
 * The rule graphql-shield's generator gives a field: the field's own rule in a field map, else
 * the map's `'*'`, else the fallback rule; a type-wide rule for every field; the fallback rule
 * for a type the tree does not name.
 */
function ruleOf(rules: IRules, type: GraphQLObjectType, field: string, options = SHIELD_OPTIONS): ShieldRule {
  const typeRules = (rules as Record<string, ShieldRule | Record<string, ShieldRule> | undefined>)[type.name];
  if (typeRules === undefined) return options.fallbackRule;
  if (!isFieldMap(typeRules)) return typeRules;
  return typeRules[field] ?? typeRules['*'] ?? options.fallbackRule;
}

function isAllow(rule: ShieldRule): boolean {
  return rule === allow || rule.constructor.name === 'RuleTrue';
}

/**
 * What a rule's answer depends on besides the caller and the request's reads: a key that is the
 * same for two fields exactly when the rule must answer them alike, or null when the rule may not
 * be reused. A rule of a hundred-row page then runs once per key, not once per row.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- rules read untyped parents and arguments.
export type DecisionScope = (parent: any, args: any, ctx: GraphQLContext) => string | null;

const declaredScopes = new WeakMap<object, DecisionScope>();

/** Declares a rule's scope (see DecisionScope): the rule must read nothing of its input beyond it. */
export function decidedPer<R extends ShieldRule>(scope: DecisionScope, rule: R): R {
  declaredScopes.set(rule, scope);
  return rule;
}

const whole: DecisionScope = () => '';

/**
 * A rule's scope: declared; '' for a rule graphql-shield itself caches per request ('contextual',
 * which may read only the context); for `and`, `or`, `chain`, `race` and `not`, the keys of all
 * their rules (their answer is a function of those); otherwise none.
 */
function decisionScopeOf(rule: ShieldRule): DecisionScope | null {
  const declared = declaredScopes.get(rule);
  if (declared) return declared;
  if ('getRules' in rule) {
    const inner = rule.getRules().map(decisionScopeOf);
    if (inner.some((scope) => scope === null)) return null;
    const scopes = inner as DecisionScope[];
    if (scopes.length === 0) return whole;
    return (parent, args, ctx) => {
      let key = '';
      for (const scope of scopes) {
        const part = scope(parent, args, ctx);
        if (part === null) return null;
        key += `${part}\u0000`;
      }
      return key;
    };
  }
  return (rule as { cache?: unknown }).cache === 'contextual' ? whole : null;
}

/** A number per rule: the fields one rule guards (a type's `'*'`) share its answers. */
const ruleIds = new WeakMap<object, string>();

function idOf(rule: ShieldRule): string {
  let id = ruleIds.get(rule);
  if (id === undefined) ruleIds.set(rule, (id = `${nextRuleId++}:`));
  return id;
}
let nextRuleId = 0;

/**
 * graphql-shield's field middleware (generator.js), as one layer: the rule's `true` calls the
 * resolver, `false` answers the fallback error, an error value is answered as it is; a thrown
 * error passes through with `debug`, is answered with `allowExternalErrors`, and is otherwise
 * replaced by the fallback error. A field whose rule is `allow` gets no layer at all: its
 * resolver runs as declared, with no promise and no rule evaluation per cell.
 *
 * With a scope (decisionScopeOf) and `debug`, the rule runs once per scope key and request: the
 * fields asking while it runs wait for that one answer, and those asking after it settled are
 * answered at once, without a promise (their resolver is called as it is). The answers live with
 * the caller's other decisions (CallerAccess), so a sign-in or a mutation starts them afresh.
 */
function shieldLayer(rule: ShieldRule, options = SHIELD_OPTIONS): FieldLayer | null {
  if (isAllow(rule)) return null;
  type Call = Parameters<FieldLayer>;
  const fallback = async (thrown: unknown, parent: Call[1], args: Call[2], ctx: Call[3], info: Call[4]) =>
    typeof options.fallbackError === 'function'
      ? options.fallbackError(thrown, parent as object, args, ctx as unknown as IShieldContext, info)
      : options.fallbackError;
  const decide = (parent: Call[1], args: Call[2], ctx: Call[3], info: Call[4]): Promise<unknown> => {
    const shieldContext = ctx as unknown as Partial<IShieldContext>;
    shieldContext._shield ??= { cache: {} };
    return rule.resolve(parent as object, args, shieldContext as IShieldContext, info, options);
  };
  const answer = (decision: unknown, resolve: Call[0], parent: Call[1], args: Call[2], ctx: Call[3], info: Call[4]) => {
    if (decision === true) return resolve(parent, args, ctx, info);
    if (decision === false) return fallback(null, parent, args, ctx, info);
    return decision;
  };
  const layer: FieldLayer = async (resolve, parent, args, ctx, info) => {
    try {
      return await answer(await decide(parent, args, ctx, info), resolve, parent, args, ctx, info);
    } catch (error) {
      if (options.debug) throw error;
      if (options.allowExternalErrors) return error;
      return fallback(error, parent, args, ctx, info);
    }
  };
  const scope = decisionScopeOf(rule);
  // Without `debug` a thrown resolver error is replaced by the fallback error: only the full layer does that.
  if (!scope || !options.debug) return layer;
  const id = idOf(rule);
  return (resolve, parent, args, ctx, info) => {
    const key = scope(parent, args, ctx);
    if (key === null) return layer(resolve, parent, args, ctx, info);
    const decisions = ctx.access.ruleDecisions();
    const known = decisions.get(id + key);
    if (known === undefined) {
      const pending = decide(parent, args, ctx, info);
      decisions.set(id + key, { pending });
      // Settled: later fields answer without waiting. A thrown error is not kept: each field rethrows it.
      pending.then(
        (decision) => decisions.set(id + key, { decision }),
        () => decisions.delete(id + key),
      );
      return pending.then((decision) => answer(decision, resolve, parent, args, ctx, info));
    }
    if ('decision' in known) return answer(known.decision, resolve, parent, args, ctx, info);
    return known.pending.then((decision) => answer(decision, resolve, parent, args, ctx, info));
  };
}

/**
 * What graphql-shield checks before it applies a tree: every type and field it names exists (a
 * misspelt name would leave the real field to the fallback rule silently), and every rule caches
 * in a way this application supports (per call, or per request).
 */
export function checkRuleTree(schema: GraphQLSchema, rules: IRules): void {
  for (const [typeName, typeRules] of Object.entries(rules as Record<string, ShieldRule>)) {
    const type = schema.getType(typeName);
    if (!type || !('getFields' in type)) throw new Error(`shield rules name ${typeName}, which the schema lacks`);
    const fields = type.getFields();
    for (const [field, rule] of Object.entries(asFieldMap(typeRules))) {
      if (field !== '*' && !Object.hasOwn(fields, field)) {
        throw new Error(`shield rules name ${typeName}.${field}, which the schema lacks`);
      }
      checkCaching(rule, `${typeName}.${field}`);
    }
  }
}

function checkCaching(rule: ShieldRule, where: string): void {
  if ('getRules' in rule) {
    for (const inner of rule.getRules()) checkCaching(inner, where);
    return;
  }
  const cache = (rule as { cache?: unknown }).cache;
  if (cache !== 'no_cache' && cache !== 'contextual') {
    throw new Error(`shield rule for ${where} caches by ${String(cache)}, which is not supported`);
  }
}

/** The shield's layer for one field, or none when its rule is `allow`. */
export function shieldLayerOf(
  rules: IRules,
  type: GraphQLObjectType,
  field: GraphQLField<unknown, unknown>,
  options = SHIELD_OPTIONS,
): FieldLayer[] {
  const layer = shieldLayer(ruleOf(rules, type, field.name, options), options);
  return layer ? [layer] : [];
}
