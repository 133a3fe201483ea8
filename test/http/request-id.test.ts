import { ApolloServer } from '@apollo/server';
import { GraphQLObjectType, GraphQLSchema, GraphQLString } from 'graphql';
import pino from 'pino';
import type { GraphQLContext } from '../../src/core/context/context';
import { createErrorFormatter } from '../../src/core/errors/format-error';
import { ServiceUnavailableError } from '../../src/core/errors/service-unavailable';
import { requestIdPlugin } from '../../src/core/graphql/request-id';

/**
 * No AsyncLocalStorage holds the request (on Node 20 its promise hooks taxed every promise): the
 * request id reaches masked errors and their log lines through the context, noted on each error
 * before Apollo formats it. Two operations at once each keep their own id.
 */

const lines: Array<Record<string, unknown>> = [];
const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });

const schema = new GraphQLSchema({
  query: new GraphQLObjectType({
    name: 'Query',
    fields: {
      bug: {
        type: GraphQLString,
        resolve: async () => {
          await new Promise((resolve) => setTimeout(resolve, 20));
          throw new Error('a detail only the log may see');
        },
      },
      outage: {
        type: GraphQLString,
        resolve: () => {
          throw new ServiceUnavailableError();
        },
      },
    },
  }),
});

let apollo: ApolloServer<GraphQLContext>;

beforeAll(async () => {
  apollo = new ApolloServer<GraphQLContext>({
    schema,
    formatError: createErrorFormatter(logger),
    plugins: [requestIdPlugin()],
  });
  await apollo.start();
});

afterAll(() => apollo.stop());

async function ask(query: string, requestId: string) {
  const response = await apollo.executeOperation({ query }, { contextValue: { requestId } as GraphQLContext });
  if (response.body.kind !== 'single') throw new Error('expected a single result');
  return response.body.singleResult.errors?.[0];
}

it('a masked error and its log line carry the id of their own request, with others running at once', async () => {
  const [first, second] = await Promise.all([ask('{ bug }', 'request-one'), ask('{ bug }', 'request-two')]);
  expect(first).toMatchObject({ extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: 'request-one' } });
  expect(second).toMatchObject({ extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: 'request-two' } });
  expect(JSON.stringify([first, second])).not.toContain('only the log may see');
  const logged = lines.filter((line) => line.msg === 'unexpected error while serving a request');
  expect(logged.map((line) => line.requestId).sort()).toEqual(['request-one', 'request-two']);
});

it('an outage answer names its request too', async () => {
  expect(await ask('{ outage }', 'request-three')).toMatchObject({
    extensions: { code: 'SERVICE_UNAVAILABLE', requestId: 'request-three' },
  });
});
