import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildSchema, parse, validate } from 'graphql';
import { errorCode } from '../support/graphql-client';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

const DEFAULT_MAX_DEPTH = 12;
const DEFAULT_MAX_ALIASES = 30;
const SMALL_BODY_LIMIT = 2000;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const INTROSPECTION_QUERY = '{ __schema { queryType { name } } }';

type ErrorBody = { data?: unknown; errors: Array<{ message: string; extensions?: Record<string, unknown> }> };

let server: TestGateway;
let ownerToken: string;

beforeAll(async () => {
  server = await startTestGateway();
  ({ accessToken: ownerToken } = await server.login());
});

afterAll(async () => {
  await server.close();
});

function postGraphQL(baseUrl: string, body: string): Promise<Response> {
  return fetch(`${baseUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
}

async function errorBody(response: Response): Promise<ErrorBody> {
  return (await response.json()) as ErrorBody;
}

/** Proves the gateway still serves GraphQL after a refused request. */
async function expectStillAnswering(gateway: TestGateway): Promise<void> {
  const response = await gateway.graphql('{ __typename }');
  expect(response.status).toBe(200);
  expect(response.data).toEqual({ __typename: 'Query' });
}

/**
 * `{ me { memberships { org { members(first: 1) { edges { node { org ... { __typename } } } } } } } }`
 * whose deepest field sits at `depth`: pages of one keep it far below the cost limit at any depth.
 */
function nestedQuery(depth: number): string {
  const cycle = ['org', 'members(first: 1)', 'edges', 'node'];
  const levels = ['me', 'memberships'];
  while (levels.length < depth - 1) levels.push(cycle[(levels.length - 2) % cycle.length]);
  return `{ ${levels.join(' { ')} { __typename }${' }'.repeat(levels.length)}`;
}

function aliasedQuery(aliases: number): string {
  return `{ ${Array.from({ length: aliases }, (_, index) => `me${index}: me { id }`).join(' ')} }`;
}

function localReferences(html: string): string[] {
  return [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]);
}

describe('health and routing', () => {
  it('answers /favicon.ico with an empty 204, so pages log no failed request', async () => {
    const response = await fetch(`${server.url}/favicon.ico`);
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');
    expect(response.headers.get('cache-control')).toBe('public, max-age=86400');
  });

  it('answers GET /healthz with 200 and JSON', async () => {
    const response = await fetch(`${server.url}/healthz`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('answers GET /readyz with 200 and JSON once the database answers', async () => {
    const response = await fetch(`${server.url}/readyz`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ status: 'ready' });
  });

  it.each(['/nope', '/graphiql/nope.js'])('answers 404 for the unknown path %s', async (unknown) => {
    const response = await fetch(`${server.url}${unknown}`);
    expect(response.status).toBe(404);
  });

  it('gives every response a fresh x-request-id', async () => {
    const responses = await Promise.all([
      fetch(`${server.url}/healthz`),
      fetch(`${server.url}/readyz`),
      fetch(`${server.url}/nope`),
      postGraphQL(server.url, JSON.stringify({ query: '{ __typename }' })),
    ]);
    const ids = responses.map((response) => response.headers.get('x-request-id'));
    for (const id of ids) expect(id).toMatch(UUID_PATTERN);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('echoes a well-formed incoming X-Request-Id and replaces a malformed one', async () => {
    const echoed = await fetch(`${server.url}/healthz`, { headers: { 'X-Request-Id': 'client-trace.0001' } });
    expect(echoed.headers.get('x-request-id')).toBe('client-trace.0001');

    const replaced = await fetch(`${server.url}/healthz`, { headers: { 'X-Request-Id': 'bad id <script>' } });
    expect(replaced.headers.get('x-request-id')).toMatch(UUID_PATTERN);
  });
});

describe('GraphiQL', () => {
  async function graphiqlPage(): Promise<Response> {
    return fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } });
  }

  it('serves an HTML page that loads only local /graphiql/ assets', async () => {
    const response = await graphiqlPage();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await response.text();
    expect(html).not.toMatch(/https?:\/\//);
    const references = localReferences(html);
    expect(references.length).toBeGreaterThanOrEqual(4);
    for (const reference of references) expect(reference).toMatch(/^\/graphiql\/[\w.-]+\.(js|css)$/);
  });

  it('serves every referenced asset with a JavaScript or CSS content type and a real body', async () => {
    const references = localReferences(await (await graphiqlPage()).text());
    for (const reference of references) {
      const response = await fetch(`${server.url}${reference}`);
      expect(response.status).toBe(200);
      const expectedType = reference.endsWith('.css') ? /^text\/css/ : /^(text|application)\/javascript/;
      expect(response.headers.get('content-type')).toMatch(expectedType);
      expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(200);
    }
  });
});

describe('request bodies', () => {
  let limited: TestGateway;

  beforeAll(async () => {
    limited = await startTestGateway({ MAX_BODY_BYTES: String(SMALL_BODY_LIMIT) });
  });

  afterAll(async () => {
    await limited.close();
  });

  it('accepts a body just under the limit', async () => {
    const body = JSON.stringify({ query: `{ __typename }${' '.repeat(SMALL_BODY_LIMIT - 40)}` });
    expect(body.length).toBeLessThanOrEqual(SMALL_BODY_LIMIT);
    const response = await postGraphQL(limited.url, body);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it.each([
    ['with a Content-Length', (body: string): RequestInit['body'] => body],
    ['streamed without a Content-Length', (body: string): RequestInit['body'] => new Blob([body]).stream()],
  ])('refuses a body over the limit %s with 413 BAD_USER_INPUT, then keeps answering', async (_name, asBody) => {
    const body = JSON.stringify({ query: `{ __typename }${' '.repeat(SMALL_BODY_LIMIT)}` });
    const response = await fetch(`${limited.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: asBody(body),
      duplex: 'half',
    });
    expect(response.status).toBe(413);
    const { errors } = await errorBody(response);
    expect(errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'request.too_large' });
    await expectStillAnswering(limited);
  });

  it('refuses malformed JSON with 400 BAD_USER_INPUT, then keeps answering', async () => {
    const response = await postGraphQL(server.url, '{"query": "{ __typename }"');
    expect(response.status).toBe(400);
    const { errors } = await errorBody(response);
    expect(errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'request.invalid_input' });
    await expectStillAnswering(server);
  });
});

describe('query limits', () => {
  it(`executes a query at the depth limit of ${DEFAULT_MAX_DEPTH}`, async () => {
    const response = await server.graphql(nestedQuery(DEFAULT_MAX_DEPTH), {}, { token: ownerToken });
    expect(response.errors).toBeUndefined();
    expect(response.data.me.memberships).toHaveLength(1);
  });

  it('refuses a query one level deeper with 400 BAD_USER_INPUT without executing it', async () => {
    const response = await server.graphql(nestedQuery(DEFAULT_MAX_DEPTH + 1), {}, { token: ownerToken });
    expect(response.status).toBe(400);
    expect(errorCode(response)).toBe('BAD_USER_INPUT');
    expect(response.errors?.[0].message).toMatch(/depth limit/i);
    expect(response.data).toBeUndefined();
  });

  it(`executes ${DEFAULT_MAX_ALIASES} aliases`, async () => {
    const response = await server.graphql(aliasedQuery(DEFAULT_MAX_ALIASES), {}, { token: ownerToken });
    expect(response.errors).toBeUndefined();
    expect(Object.keys(response.data)).toHaveLength(DEFAULT_MAX_ALIASES);
  });

  it(`refuses ${DEFAULT_MAX_ALIASES + 1} aliases with 400 BAD_USER_INPUT without executing them`, async () => {
    const response = await server.graphql(aliasedQuery(DEFAULT_MAX_ALIASES + 1), {}, { token: ownerToken });
    expect(response.status).toBe(400);
    expect(errorCode(response)).toBe('BAD_USER_INPUT');
    expect(response.errors?.[0].message).toMatch(/aliases/i);
    expect(response.data).toBeUndefined();
  });
});

describe('CSRF prevention', () => {
  const getUrl = () => `${server.url}/graphql?query=${encodeURIComponent('{ __typename }')}`;

  it('refuses a simple GET without content-type or apollo-require-preflight with 400', async () => {
    const response = await fetch(getUrl());
    expect(response.status).toBe(400);
    const body = await errorBody(response);
    expect(body.data).toBeUndefined();
    expect(body.errors[0].message).toContain('Cross-Site Request Forgery');
  });

  it('answers the same GET when it carries apollo-require-preflight', async () => {
    const response = await fetch(getUrl(), { headers: { 'apollo-require-preflight': 'true' } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { __typename: 'Query' } });
  });
});

describe('schema exposure', () => {
  let production: TestGateway;

  beforeAll(async () => {
    production = await startTestGateway({ NODE_ENV: 'production', MAIL_TRANSPORT: 'outbox' });
  });

  afterAll(async () => {
    await production.close();
  });

  it('allows introspection outside production', async () => {
    const response = await server.graphql(INTROSPECTION_QUERY);
    expect(response.errors).toBeUndefined();
    expect(response.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
  });

  it('refuses introspection in production', async () => {
    const response = await production.graphql(INTROSPECTION_QUERY);
    expect(errorCode(response)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(response.errors?.[0].message).toMatch(/introspection/i);
    expect(response.data).toBeUndefined();
  });

  it('does not suggest field names for an unknown field in production', async () => {
    const query = '{ mee { id } }';
    const schema = buildSchema(readFileSync(path.join(__dirname, '../../schema.graphql'), 'utf8'));
    const [plainError] = validate(schema, parse(query));
    expect(plainError.message).toContain('Did you mean "me"?');

    const response = await production.graphql(query);
    expect(errorCode(response)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(response.errors?.[0].message).toContain('Cannot query field "mee" on type "Query".');
    expect(response.errors?.[0].message).not.toMatch(/did you mean/i);
  });
});
