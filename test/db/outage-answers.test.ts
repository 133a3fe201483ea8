import { ApolloServer, HeaderMap } from '@apollo/server';
import { GraphQLObjectType, GraphQLSchema, GraphQLString } from 'graphql';
import { allow, rule } from 'graphql-shield';
import { DatabaseError } from 'pg';
import { QueryFailedError } from 'typeorm';
import { createErrorFormatter } from '../../src/core/errors/format-error';
import { ServiceUnavailableError } from '../../src/core/errors/service-unavailable';
import { retryAfterPlugin } from '../../src/core/graphql/retry-after';
import { createLogger } from '../../src/core/logger';
import { applyFieldLayers } from '../../src/core/graphql/field-layers';
import { shieldLayerOf } from '../../src/core/permissions/shield';

/**
 * The GraphQL layer's answers to a database outage, wherever it surfaces: in a permission rule, in
 * a resolver, or while the context is built; and that ordinary refusals and bugs keep theirs.
 */

const refused = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED', syscall: 'connect' });

function serverError(code: string, message: string): QueryFailedError {
  const error = new DatabaseError(message, message.length, 'error');
  error.code = code;
  return new QueryFailedError('SELECT 1', [], error);
}

const fields = {
  allowed: () => 'yes',
  denied: () => 'never served',
  ruleLostDatabase: () => 'never served',
  ruleBug: () => 'never served',
  resolverLostDatabase: () => {
    throw serverError('57P01', 'terminating connection due to administrator command');
  },
  resolverConstraint: () => {
    throw serverError('23505', 'duplicate key value violates unique constraint "teams_org_name"');
  },
  resolverVanishedOrg: () => {
    throw serverError('23503', 'insert or update on table "resources" violates foreign key constraint');
  },
};

const rules = {
  Query: {
    allowed: allow,
    denied: rule()(() => false),
    ruleLostDatabase: rule()(() => Promise.reject(refused())),
    ruleBug: rule()(() => {
      throw new Error('a detail only the log may see');
    }),
    resolverLostDatabase: allow,
    resolverConstraint: allow,
    resolverVanishedOrg: allow,
  },
};

const schema = applyFieldLayers(
  new GraphQLSchema({
    query: new GraphQLObjectType({
      name: 'Query',
      fields: Object.fromEntries(
        Object.entries(fields).map(([name, resolve]) => [name, { type: GraphQLString, resolve }]),
      ),
    }),
  }),
  (type, field) => shieldLayerOf(rules, type, field),
);

const signedIn = { principal: { userId: 'u1' }, authError: null };

let apollo: ApolloServer<typeof signedIn>;

beforeAll(async () => {
  apollo = new ApolloServer({
    schema,
    formatError: createErrorFormatter(createLogger('silent')),
    plugins: [retryAfterPlugin()],
  });
  await apollo.start();
});

afterAll(() => apollo.stop());

async function ask(field: string) {
  const response = await apollo.executeOperation({ query: `{ ${field} }` }, { contextValue: signedIn });
  if (response.body.kind !== 'single') throw new Error('expected a single result');
  const [error] = response.body.singleResult.errors ?? [];
  return {
    status: response.http.status ?? 200,
    retryAfter: response.http.headers.get('retry-after') ?? null,
    code: error?.extensions?.code,
    message: error?.message,
  };
}

it('a rule that finds the database gone answers SERVICE_UNAVAILABLE, 503, Retry-After: not FORBIDDEN', async () => {
  expect(await ask('ruleLostDatabase')).toEqual({
    status: 503,
    retryAfter: '5',
    code: 'SERVICE_UNAVAILABLE',
    message: 'The service is temporarily unavailable; try again in a few seconds',
  });
});

it('a resolver that loses the database answers the same', async () => {
  expect(await ask('resolverLostDatabase')).toMatchObject({
    status: 503,
    retryAfter: '5',
    code: 'SERVICE_UNAVAILABLE',
  });
});

it('a refusal stays FORBIDDEN with no Retry-After', async () => {
  expect(await ask('denied')).toEqual({ status: 200, retryAfter: null, code: 'FORBIDDEN', message: 'Not allowed' });
});

it("a rule's bug is masked as an internal error, neither a refusal nor its own message", async () => {
  expect(await ask('ruleBug')).toEqual({
    status: 200,
    retryAfter: null,
    code: 'INTERNAL_SERVER_ERROR',
    message: 'Internal server error',
  });
});

it('a constraint violation is no outage', async () => {
  expect(await ask('resolverConstraint')).toMatchObject({
    status: 200,
    retryAfter: null,
    code: 'INTERNAL_SERVER_ERROR',
  });
});

it('a row whose org was deleted meanwhile (a foreign key refusal) is NOT_FOUND, neither an outage nor a 500', async () => {
  expect(await ask('resolverVanishedOrg')).toMatchObject({ status: 200, retryAfter: null, code: 'NOT_FOUND' });
});

it('an outage while the context is built (authenticating the bearer) answers 503 before execution', async () => {
  const response = await apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: {
      method: 'POST',
      headers: new HeaderMap([['content-type', 'application/json']]),
      search: '',
      body: { query: '{ allowed }' },
    },
    context: () => Promise.reject(new ServiceUnavailableError(refused())),
  });
  expect(response.status).toBe(503);
  expect(response.headers.get('retry-after')).toBe('5');
  const body = response.body.kind === 'complete' ? JSON.parse(response.body.string) : null;
  expect(body.errors).toEqual([
    {
      message: 'The service is temporarily unavailable; try again in a few seconds',
      extensions: expect.objectContaining({ code: 'SERVICE_UNAVAILABLE', retryAfter: 5 }),
    },
  ]);
});
