import http from 'node:http';
import { ApolloServer } from '@apollo/server';
import pino from 'pino';
import { loadConfig } from '../../src/core/config/config';
import type { GraphQLContext } from '../../src/core/context/context';
import { createHttpServer, type HttpDependencies, type HttpServer } from '../../src/core/http/server';
import { startTestGateway, TEST_SECRET_KEY, type TestGateway } from '../support/test-gateway';

const SMALL_BODY_LIMIT = 2000;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};
const APOLLO_NO_BODY = 'POST body missing, invalid Content-Type, or JSON object has no keys.';

type RawAnswer = { status: number; headers: http.IncomingHttpHeaders; body: string; complete: boolean };

/** A request exactly as written (fetch would fill in or refuse some headers), read to its end. */
function rawRequest(
  url: string,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: hostname, port, method: options.method ?? 'GET', path: options.path, headers: options.headers },
      (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        response.on('error', () =>
          resolve({ status: response.statusCode!, headers: response.headers, body, complete: false }),
        );
        response.on('end', () =>
          resolve({ status: response.statusCode!, headers: response.headers, body, complete: response.complete }),
        );
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}

function expectCommonHeaders(headers: http.IncomingHttpHeaders | Headers): void {
  const get = (name: string) => (headers instanceof Headers ? headers.get(name) : headers[name]);
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(get(name)).toBe(value);
  expect(get('x-request-id')).toMatch(/\S{8,}/);
}

describe('the gateway over HTTP', () => {
  let server: TestGateway;
  let limited: TestGateway;
  let ownerToken: string;
  let orgId: string;

  beforeAll(async () => {
    server = await startTestGateway();
    limited = await startTestGateway({ MAX_BODY_BYTES: String(SMALL_BODY_LIMIT) });
    ownerToken = (await server.login()).accessToken;
    const me = await server.graphql('{ me { memberships { org { id } } } }', {}, { token: ownerToken });
    orgId = me.data.me.memberships[0].org.id;
  });

  afterAll(async () => {
    await server?.close();
    await limited?.close();
  });

  it('sets the security headers and x-request-id on every kind of answer', async () => {
    const requests: Array<{ method?: string; path: string; headers?: Record<string, string>; body?: string }> = [
      { path: '/healthz' },
      { method: 'HEAD', path: '/healthz' },
      { path: '/readyz' },
      { path: '/nope' },
      { method: 'POST', path: '/healthz' },
      { path: '/graphql', headers: { accept: 'text/html' } },
      { path: '/graphiql/init.js' },
      { path: '/.well-known/jwks.json' },
      { path: '/auth/check' },
      { path: '/audit/export' },
      {
        method: 'POST',
        path: '/graphql',
        headers: { 'content-type': 'application/json' },
        body: '{"query": "{ __typename }"}',
      },
      { method: 'POST', path: '/graphql', headers: { 'content-type': 'application/json' }, body: '{"query": ' },
      { method: 'PUT', path: '/graphql', headers: { 'content-type': 'application/json' }, body: '{}' },
    ];
    const statuses: number[] = [];
    for (const request of requests) {
      const answer = await rawRequest(server.url, request);
      expectCommonHeaders(answer.headers);
      statuses.push(answer.status);
    }
    expect(statuses).toEqual([200, 200, 200, 404, 405, 200, 200, 200, 401, 401, 200, 400, 405]);
  });

  it('answers 413 in the GraphQL error shape with the same headers', async () => {
    const answer = await rawRequest(limited.url, {
      method: 'POST',
      path: '/graphql',
      headers: { 'content-type': 'application/json', 'x-request-id': 'too-large-0001' },
      body: JSON.stringify({ query: `{ __typename }${' '.repeat(SMALL_BODY_LIMIT)}` }),
    });
    expect(answer.status).toBe(413);
    expectCommonHeaders(answer.headers);
    expect(JSON.parse(answer.body)).toEqual({
      errors: [
        {
          message: 'Request body is too large',
          extensions: { code: 'BAD_USER_INPUT', reason: 'request.too_large', requestId: 'too-large-0001' },
        },
      ],
    });
  });

  it.each([
    ['POST', '/healthz'],
    ['PUT', '/readyz'],
    ['DELETE', '/nope'],
    ['PATCH', '/graphiql/init.js'],
    ['OPTIONS', '/audit/export'],
    ['POST', '/.well-known/jwks.json'],
  ])('refuses %s %s with a JSON 405', async (method, path) => {
    const answer = await rawRequest(server.url, { method, path });
    expect(answer.status).toBe(405);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(answer.body)).toEqual({ error: 'method not allowed' });
  });

  it.each([
    ['a JSON body over the limit', 'application/json', 'x'.repeat(SMALL_BODY_LIMIT * 2)],
    ['malformed JSON', 'application/json', '{'],
    ['a type no parser reads', 'application/octet-stream', 'x'.repeat(SMALL_BODY_LIMIT * 2)],
    ['an unreadable type', 'nonsense', 'x'],
  ])('refuses a POST with %s to a path without a route as 405, not by its body', async (_name, type, body) => {
    const answer = await rawRequest(limited.url, {
      method: 'POST',
      path: '/nope',
      headers: { 'content-type': type },
      body,
    });
    expect(answer.status).toBe(405);
    expect(JSON.parse(answer.body)).toEqual({ error: 'method not allowed' });
  });

  it('answers unknown paths (undecodable ones too), and GraphiQL assets that do not exist, with a JSON 404', async () => {
    const paths = [
      '/nope',
      '/graphiql/',
      '/graphiql/nope.js',
      '/graphql/',
      '/GRAPHQL',
      '/healthz/x',
      '/%zz',
      '/healthz%zz',
    ];
    for (const path of paths) {
      const answer = await rawRequest(server.url, { path });
      expect(answer.status).toBe(404);
      expectCommonHeaders(answer.headers);
      expect(JSON.parse(answer.body)).toEqual({ error: 'not found' });
    }
  });

  it('answers HEAD like GET without a body', async () => {
    const answer = await rawRequest(server.url, { method: 'HEAD', path: '/healthz' });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    expect(answer.body).toBe('');
  });

  it('answers HEAD /audit/export with the export headers and no records', async () => {
    const answer = await rawRequest(server.url, {
      method: 'HEAD',
      path: `/audit/export?orgId=${orgId}&format=csv`,
      headers: { authorization: `Bearer ${ownerToken}` },
    });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(answer.headers['content-disposition']).toMatch(/^attachment; filename="audit-/);
    expect(answer.body).toBe('');
    expectCommonHeaders(answer.headers);
  });

  it('serves the JWKS as cacheable JSON', async () => {
    const response = await fetch(`${server.url}/.well-known/jwks.json`);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('cache-control')).toBe('public, max-age=300');
    expect(((await response.json()) as { keys: unknown[] }).keys.length).toBeGreaterThan(0);
  });

  describe('/graphql bodies reach Apollo as they always did', () => {
    async function post(type: string, body: string, headers: Record<string, string> = {}) {
      const answer = await rawRequest(server.url, {
        method: 'POST',
        path: '/graphql',
        headers: { 'content-type': type, ...headers },
        body,
      });
      return { ...answer, json: JSON.parse(answer.body) as { errors?: Array<{ message: string }> } };
    }

    it('refuses a text/plain body as a possible CSRF (Apollo), not as an unsupported type', async () => {
      const answer = await post('text/plain', JSON.stringify({ query: '{ __typename }' }));
      expect(answer.status).toBe(400);
      expect(answer.json.errors?.[0].message).toContain('Cross-Site Request Forgery');
    });

    it.each(['application/xml', 'text/plain', 'nonsense', ''])(
      'hands a %j body to Apollo as text, which refuses it with 400',
      async (type) => {
        const answer = await post(type, '<query>{ __typename }</query>', { 'apollo-require-preflight': 'true' });
        expect(answer.status).toBe(400);
        expect(answer.json.errors?.[0].message).toBe(APOLLO_NO_BODY);
      },
    );

    it('hands an empty JSON body to Apollo, which refuses it with 400', async () => {
      const answer = await post('application/json', '');
      expect(answer.status).toBe(400);
      expect(answer.json.errors?.[0].message).toBe(APOLLO_NO_BODY);
    });

    it('reads any JSON type as JSON', async () => {
      const answer = await post('application/graphql-response+json; charset=utf-8', '{"query": "{ __typename }"}');
      expect(answer.status).toBe(200);
      expect(answer.json).toEqual({ data: { __typename: 'Query' } });
    });

    it('leaves other methods to Apollo (405, Allow: GET, POST)', async () => {
      const answer = await rawRequest(server.url, {
        method: 'DELETE',
        path: '/graphql',
        headers: { 'content-type': 'application/json' },
      });
      expect(answer.status).toBe(405);
      expect(answer.headers.allow).toBe('GET, POST');
    });

    it('serves GraphiQL only to a browser GET without a query string', async () => {
      const page = await rawRequest(server.url, { path: '/graphql?', headers: { accept: 'text/html' } });
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.headers['content-security-policy']).toContain("default-src 'none'");
      const query = await rawRequest(server.url, {
        path: `/graphql?query=${encodeURIComponent('{ __typename }')}`,
        headers: { accept: 'text/html, application/json', 'apollo-require-preflight': 'true' },
      });
      expect(JSON.parse(query.body)).toEqual({ data: { __typename: 'Query' } });
      expect(query.headers['content-security-policy']).toBeUndefined();
    });
  });

  describe('the request scope', () => {
    const CREATE_TEAM = 'mutation ($i: CreateTeamInput!) { createTeam(input: $i) { id } }';

    /** Padded so that the body arrives in many chunks: the scope must survive reading it. */
    async function createTeam(name: string, headers: Record<string, string> = {}) {
      const body = JSON.stringify({ query: `${CREATE_TEAM}${' '.repeat(200_000)}`, variables: { i: { orgId, name } } });
      const response = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ownerToken}`, ...headers },
        body,
      });
      const { data } = (await response.json()) as { data: { createTeam: { id: string } } };
      return { teamId: data.createTeam.id, requestId: response.headers.get('x-request-id') };
    }

    async function auditedRequestId(teamId: string): Promise<string> {
      const [row] = await server.sql<{ request_id: string }>(
        `SELECT request_id FROM audit_logs WHERE action = 'team.created' AND target_id = $1`,
        [teamId],
      );
      return row.request_id;
    }

    it("records the caller's X-Request-Id in the audit record, as the response echoes it", async () => {
      const { teamId, requestId } = await createTeam('Scope echoed', { 'x-request-id': 'scope-check.0001' });
      expect(requestId).toBe('scope-check.0001');
      expect(await auditedRequestId(teamId)).toBe('scope-check.0001');
    });

    it('records the generated request id in the audit record, as the response carries it', async () => {
      const { teamId, requestId } = await createTeam('Scope generated');
      expect(requestId).toMatch(UUID_PATTERN);
      expect(await auditedRequestId(teamId)).toBe(requestId);
    });
  });
});

describe('the HTTP layer on its own', () => {
  const logLines: string[] = [];
  // The error handler names the request in its line itself: no logger carries ambient request state.
  const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
  const apollo = new ApolloServer<GraphQLContext>({ typeDefs: 'type Query { ok: Boolean }' });
  let http: HttpServer;
  let url: string;
  let ready = true;
  let auditWrites = 0;

  beforeAll(async () => {
    await apollo.start();
    const config = loadConfig({
      NODE_ENV: 'test',
      DATABASE_URL: 'postgres://unused@127.0.0.1:1/unused',
      SECRET_KEY: TEST_SECRET_KEY,
    });
    const deps: HttpDependencies = {
      config,
      logger,
      apollo,
      createContext: async () => ({}) as GraphQLContext,
      isReady: async () => ready,
      jwks: () => ({ keys: [] }),
      forwardAuth: async () => {
        throw new Error('boom: password=hunter2');
      },
      auditExport: async () => ({
        status: 200,
        headers: { 'content-type': 'application/x-ndjson' },
        write: async (res) => {
          auditWrites += 1;
          res.write('{"first": "line"}\n');
          await new Promise((resolve) => setTimeout(resolve, 50));
          throw new Error('the database went away mid-export');
        },
      }),
    };
    http = await createHttpServer(deps);
    url = `http://127.0.0.1:${await http.listen(0, '127.0.0.1')}`;
  });

  afterAll(async () => {
    await http.close(1_000);
    await apollo.stop();
  });

  it('answers an unexpected error as 500 internal.unexpected with the request id, never its message', async () => {
    const answer = await rawRequest(url, { path: '/auth/check', headers: { 'x-request-id': 'unexpected-0001' } });
    expect(answer.status).toBe(500);
    expectCommonHeaders(answer.headers);
    expect(JSON.parse(answer.body)).toEqual({
      errors: [
        {
          message: 'Internal server error',
          extensions: { code: 'INTERNAL_SERVER_ERROR', reason: 'internal.unexpected', requestId: 'unexpected-0001' },
        },
      ],
    });
    expect(answer.body).not.toMatch(/boom|hunter2|at /);
    const logged = logLines.map((line) => JSON.parse(line)).find((line) => line.msg === 'request failed');
    expect(logged).toMatchObject({ requestId: 'unexpected-0001', path: '/auth/check', err: { message: /boom/ } });
  });

  it('cuts the connection when an error comes after the answer began', async () => {
    const answer = await rawRequest(url, { path: '/audit/export' });
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('{"first": "line"}\n');
    expect(answer.complete).toBe(false);
    expect(auditWrites).toBe(1);
  });

  it('answers /readyz 503 while the database does not answer', async () => {
    ready = false;
    const answer = await rawRequest(url, { path: '/readyz' });
    ready = true;
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body)).toEqual({ status: 'unavailable' });
  });

  it.each(['application/json', 'nonsense'])(
    'refuses a Host header no URL can hold with 400 (the Apollo integration builds a URL from it), body type %j',
    async (type) => {
      const answer = await rawRequest(url, {
        method: 'POST',
        path: '/graphql',
        headers: { host: 'not a host', 'content-type': type },
        body: '{"query": "{ ok }"}',
      });
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body).errors[0].extensions.reason).toBe('request.invalid_input');
    },
  );
});
