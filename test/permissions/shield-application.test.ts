import { ApolloServer } from '@apollo/server';
import { GraphQLList, GraphQLObjectType, GraphQLSchema, GraphQLString, type GraphQLFieldResolver } from 'graphql';
import { applyMiddleware } from 'graphql-middleware';
import { allow, and, chain, deny, or, rule, shield } from 'graphql-shield';
import type { IRules } from 'graphql-shield/typings/types';
import { AppError } from '../../src/core/errors/app-error';
import { createErrorFormatter } from '../../src/core/errors/format-error';
import { applyFieldLayers } from '../../src/core/graphql/field-layers';
import { createLogger } from '../../src/core/logger';
import { CallerAccess } from '../../src/core/permissions/caller-access';
import { checkRuleTree, decidedPer, SHIELD_OPTIONS, shieldLayerOf } from '../../src/core/permissions/shield';

/**
 * The gateway applies graphql-shield's rule map with its own schema transform instead of
 * graphql-middleware. These tests hold it to graphql-shield's own semantics (the same answers for
 * the same rules, side by side with shield() itself) and to what the transform adds: a field whose
 * rule is `allow` keeps its resolver untouched.
 */

type Context = { principal: { userId: string } | null; authError: AppError | null; access?: CallerAccess };

/** A context as the gateway builds one per request: the shield keeps its rule answers in `access`. */
function requestContext(context: Context): Context {
  const built: Context = { ...context };
  const loaders = {};
  built.access = new CallerAccess(
    () => built.principal as never,
    () => loaders as never,
  );
  return built;
}

const signedIn: Context = { principal: { userId: 'u1' }, authError: null };
const anonymous: Context = { principal: null, authError: null };

const ownResolver: GraphQLFieldResolver<unknown, unknown> = () => 'resolved';
const throwingResolver: GraphQLFieldResolver<unknown, unknown> = () => {
  throw new AppError('org.not_found');
};

/** A schema built afresh for each application: both transforms change the fields they wrap. */
function buildSchema(): GraphQLSchema {
  const item = new GraphQLObjectType({
    name: 'Item',
    fields: { name: { type: GraphQLString }, secret: { type: GraphQLString } },
  });
  const untouched = new GraphQLObjectType({ name: 'Unruled', fields: { value: { type: GraphQLString } } });
  const field = (resolve: GraphQLFieldResolver<unknown, unknown> = ownResolver) => ({ type: GraphQLString, resolve });
  return new GraphQLSchema({
    query: new GraphQLObjectType({
      name: 'Query',
      fields: {
        allowed: field(),
        denied: field(),
        unnamed: field(),
        answersAppError: field(),
        throwsAppError: field(),
        throwsBug: field(),
        answersText: field(),
        combined: field(),
        chained: field(),
        resolverThrows: field(throwingResolver),
        items: {
          type: new GraphQLList(item),
          resolve: () => [
            { name: 'a', secret: 's' },
            { name: 'b', secret: 't' },
          ],
        },
        unruled: { type: untouched, resolve: () => ({ value: 'v' }) },
      },
    }),
  });
}

const signedInRule = rule({ cache: 'contextual' })((_parent, _args, ctx: Context) => ctx.principal !== null);

const rules: IRules = {
  Query: {
    allowed: allow,
    denied: deny,
    answersAppError: rule()(() => new AppError('member.outranked')),
    throwsAppError: rule()(() => {
      throw new AppError('role.escalation');
    }),
    throwsBug: rule()(() => {
      throw new Error('a detail only the log may see');
    }),
    answersText: rule()(() => 'a rule may answer a message'),
    combined: or(
      rule()(() => false),
      signedInRule,
    ),
    chained: chain(
      signedInRule,
      rule()(() => new AppError('auth.email_unverified')),
    ),
    resolverThrows: allow,
    items: and(signedInRule, allow),
  },
  Item: { '*': allow, secret: signedInRule },
};

function gatewaySchema(): GraphQLSchema {
  const schema = buildSchema();
  checkRuleTree(schema, rules);
  return applyFieldLayers(schema, (type, field) => shieldLayerOf(rules, type, field));
}

/** graphql-shield's own application, with the gateway's options: the reference answers. */
function shieldSchema(): GraphQLSchema {
  return applyMiddleware(buildSchema(), shield(rules, SHIELD_OPTIONS));
}

const QUERIES = [
  '{ allowed }',
  '{ denied }',
  '{ unnamed }',
  '{ answersAppError }',
  '{ throwsAppError }',
  '{ throwsBug }',
  '{ answersText }',
  '{ combined }',
  '{ chained }',
  '{ resolverThrows }',
  '{ items { name secret } }',
  '{ unruled { value } }',
];

async function answers(schema: GraphQLSchema, context: Context) {
  const apollo = new ApolloServer<Context>({ schema, formatError: createErrorFormatter(createLogger('silent')) });
  await apollo.start();
  try {
    const results: Record<string, unknown> = {};
    for (const query of QUERIES) {
      // A fresh context per operation, as the gateway builds one per request.
      const response = await apollo.executeOperation({ query }, { contextValue: requestContext(context) });
      if (response.body.kind !== 'single') throw new Error('expected a single result');
      const { data, errors } = response.body.singleResult;
      results[query] = {
        data,
        errors: errors?.map(({ message, path, extensions }) => ({ message, path, extensions })),
      };
    }
    return results;
  } finally {
    await apollo.stop();
  }
}

describe('the gateway applies the shield rule map as graphql-shield does', () => {
  it.each([
    ['signed in', signedIn],
    ['anonymous', anonymous],
  ])('the same answer to every query, %s', async (_name, context) => {
    expect(await answers(gatewaySchema(), context)).toEqual(await answers(shieldSchema(), context));
  });

  it('denies by default, with the codes of the rules', async () => {
    const signedInAnswers = (await answers(gatewaySchema(), signedIn)) as Record<
      string,
      { data: Record<string, unknown> | null; errors?: Array<{ extensions: { code: string; reason?: string } }> }
    >;
    const codeOf = (query: string) => signedInAnswers[query].errors?.[0]?.extensions;
    expect(signedInAnswers['{ allowed }'].data).toEqual({ allowed: 'resolved' });
    expect(codeOf('{ denied }')).toMatchObject({ code: 'FORBIDDEN', reason: 'auth.forbidden' });
    // Named in no rule map, in a type that has one: the fallback rule.
    expect(codeOf('{ unnamed }')).toMatchObject({ code: 'FORBIDDEN' });
    expect(codeOf('{ unruled { value } }')).toMatchObject({ code: 'FORBIDDEN' });
    expect(codeOf('{ answersAppError }')).toMatchObject({ code: 'FORBIDDEN', reason: 'member.outranked' });
    // A rule that throws an AppError passes it through (shield's debug), not a bare FORBIDDEN.
    expect(codeOf('{ throwsAppError }')).toMatchObject({ code: 'FORBIDDEN', reason: 'role.escalation' });
    expect(codeOf('{ chained }')).toMatchObject({ reason: 'auth.email_unverified' });
    expect(signedInAnswers['{ combined }'].data).toEqual({ combined: 'resolved' });

    const anonymousAnswers = (await answers(gatewaySchema(), anonymous)) as typeof signedInAnswers;
    expect(anonymousAnswers['{ denied }'].errors?.[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(anonymousAnswers['{ items { name secret } }'].errors?.[0].extensions).toMatchObject({
      code: 'UNAUTHENTICATED',
    });
  });

  it('masks an unexpected error thrown by a rule', async () => {
    const bug = ((await answers(gatewaySchema(), signedIn)) as Record<string, { errors: Array<{ message: string }> }>)[
      '{ throwsBug }'
    ].errors[0];
    expect(bug).toMatchObject({ extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(JSON.stringify(bug)).not.toContain('only the log may see');
  });

  it('checks each row of a list with the rule of its field', async () => {
    const listed = (await answers(gatewaySchema(), signedIn))['{ items { name secret } }'];
    expect(listed).toEqual({
      data: {
        items: [
          { name: 'a', secret: 's' },
          { name: 'b', secret: 't' },
        ],
      },
      errors: undefined,
    });
  });
});

describe('fields whose rule is allow', () => {
  it('keep their own resolver, and a field without one stays without', () => {
    const schema = gatewaySchema();
    const query = schema.getQueryType()!.getFields();
    expect(query.allowed.resolve).toBe(ownResolver);
    expect(query.resolverThrows.resolve).toBe(throwingResolver);
    expect(query.denied.resolve).not.toBe(ownResolver);
    const item = (schema.getType('Item') as GraphQLObjectType).getFields();
    expect(item.name.resolve).toBeUndefined();
    expect(item.secret.resolve).toBeInstanceOf(Function);
  });
});

describe('the rule tree is checked as graphql-shield checks it', () => {
  it('refuses a type or field the schema lacks, and caching it cannot honour', () => {
    expect(() => checkRuleTree(buildSchema(), { Nope: allow })).toThrow('Nope');
    expect(() => checkRuleTree(buildSchema(), { Query: { nope: allow } })).toThrow('Query.nope');
    expect(() => checkRuleTree(buildSchema(), { Query: { allowed: rule({ cache: 'strict' })(() => true) } })).toThrow(
      'strict',
    );
    expect(() => checkRuleTree(buildSchema(), rules)).not.toThrow();
  });
});

describe('a rule with a decision scope', () => {
  it('runs once per scope key and request, and answers every row as graphql-shield does', async () => {
    const calls: string[] = [];
    const perGroup = decidedPer(
      (parent: { group: string }) => parent.group,
      rule({ cache: 'no_cache' })(async (parent: { group: string }) => {
        calls.push(parent.group);
        return parent.group === 'open' || new AppError('auth.forbidden');
      }),
    );
    const row = new GraphQLObjectType({
      name: 'Row',
      fields: { group: { type: GraphQLString }, value: { type: GraphQLString } },
    });
    const build = () =>
      new GraphQLSchema({
        query: new GraphQLObjectType({
          name: 'Query',
          fields: {
            rows: {
              type: new GraphQLList(row),
              resolve: () =>
                ['open', 'closed', 'open', 'closed', 'open'].map((group, index) => ({ group, value: `v${index}` })),
            },
          },
        }),
      });
    const scoped: IRules = { Query: { rows: allow }, Row: { group: allow, value: perGroup } };
    const gateway = applyFieldLayers(build(), (type, field) => shieldLayerOf(scoped, type, field));
    const reference = applyMiddleware(build(), shield(scoped, SHIELD_OPTIONS));
    const run = async (schema: GraphQLSchema) => {
      const apollo = new ApolloServer<Context>({ schema, formatError: createErrorFormatter(createLogger('silent')) });
      await apollo.start();
      try {
        const query = '{ rows { group value } }';
        const response = await apollo.executeOperation({ query }, { contextValue: requestContext(signedIn) });
        if (response.body.kind !== 'single') throw new Error('expected a single result');
        const { data, errors } = response.body.singleResult;
        return { data, errors: errors?.map(({ message, path, extensions }) => ({ message, path, extensions })) };
      } finally {
        await apollo.stop();
      }
    };

    const expected = await run(reference);
    // graphql-shield runs it for every row at least.
    expect(calls.length).toBeGreaterThanOrEqual(5);
    calls.length = 0;
    expect(await run(gateway)).toEqual(expected);
    expect([...calls].sort()).toEqual(['closed', 'open']);
    // A request starts afresh: nothing decided for one caller's request answers another's.
    calls.length = 0;
    await run(gateway);
    expect([...calls].sort()).toEqual(['closed', 'open']);
  });
});
