import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Script } from 'node:vm';
import { buildSchema, parse, validate } from 'graphql';
import { GRAPHIQL_CSP, renderGraphiqlPage } from '../../src/core/http/graphiql';
import { SIGN_IN_OPERATIONS } from '../../src/core/http/graphiql-init';
import { errorCode } from '../support/graphql-client';
import { OWNER_EMAIL, startTestGateway, type TestGateway } from '../support/test-gateway';

const INTROSPECTION_QUERY = '{ __schema { queryType { name } } }';
/** What Chromium sends when a page is opened. */
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const ASSETS = ['/graphiql/init.js', '/graphiql/graphiql.min.js', '/graphiql/graphiql.min.css'];

function browserGet(gateway: TestGateway, pathAndQuery = '/graphql'): Promise<Response> {
  return fetch(`${gateway.url}${pathAndQuery}`, { headers: { accept: BROWSER_ACCEPT } });
}

async function page(gateway: TestGateway): Promise<string> {
  const response = await browserGet(gateway);
  expect(response.status).toBe(200);
  return response.text();
}

/** The value of a data attribute of the #graphiql element, with the page's HTML escapes undone. */
function dataAttribute(html: string, name: string): string | undefined {
  const element = /<div\s+id="graphiql"([^>]*)>/.exec(html)?.[1] ?? '';
  const value = new RegExp(`\\sdata-${name}="([^"]*)"`).exec(element)?.[1];
  return value?.replace(/&#(\d+);/g, (_entity, code: string) => String.fromCharCode(Number(code)));
}

function schemaErrors(document: string): string[] {
  const schema = buildSchema(readFileSync(path.join(__dirname, '../../schema.graphql'), 'utf8'));
  return validate(schema, parse(document)).map((error) => error.message);
}

async function expectNotFound(response: Response): Promise<void> {
  expect(response.status).toBe(404);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  expect(await response.json()).toEqual({ error: 'not found' });
}

async function expectIntrospection(gateway: TestGateway, allowed: boolean): Promise<void> {
  const response = await gateway.graphql(INTROSPECTION_QUERY);
  if (allowed) {
    expect(response.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
  } else {
    expect(errorCode(response)).toBe('GRAPHQL_VALIDATION_FAILED');
    // Named by the setting an operator can change, not Apollo's advice about its constructor.
    expect(response.errors?.[0].message).toMatch(/INTROSPECTION=true/);
    expect(response.errors?.[0].message).not.toMatch(/ApolloServer/);
  }
}

describe('GraphiQL by default outside production', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startTestGateway();
  });

  afterAll(async () => {
    await gateway.close();
  });

  it('serves the page with the CSP, its title and the labelled sign-in form', async () => {
    const response = await browserGet(gateway);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('content-security-policy')).toBe(GRAPHIQL_CSP);
    const html = await response.text();
    expect(html).toContain('<title>Portcullis GraphiQL</title>');
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)/);

    const form = /<form id="portcullis-sign-in"[^>]*>([\s\S]*?)<\/form>/.exec(html)?.[1];
    expect(form).toBeDefined();
    for (const [name, type] of [
      ['email', 'email'],
      ['password', 'password'],
    ]) {
      const input = new RegExp(`<input id="([\\w-]+)" name="${name}" type="${type}"`).exec(form!);
      expect(input).not.toBeNull();
      expect(form).toContain(`<label for="${input![1]}">`);
    }
    expect(form).toMatch(/<button type="submit"[^>]*>Sign in<\/button>/);
    expect(form).toMatch(/role="alert"/);
    expect(dataAttribute(html, 'introspection')).toBe('true');
  });

  // localStorage is GraphiQL's own (the script wraps it); the browser tests check no token lands there.
  it('serves the init script as JavaScript that parses and never touches sessionStorage or cookies', async () => {
    const response = await fetch(`${gateway.url}/graphiql/init.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/javascript/);
    const script = await response.text();
    expect(() => new Script(script, { filename: 'init.js' })).not.toThrow();
    expect(script).not.toMatch(/sessionStorage|document\.cookie/);
    expect(script).toContain('X-Portcullis-CSRF');
  });

  it('offers a welcome whose queries validate against the committed schema', async () => {
    const welcome = dataAttribute(await page(gateway), 'default-query');
    expect(welcome).toMatch(/^# Welcome to Portcullis GraphiQL/);
    expect(welcome).toMatch(/^\{\n {2}me \{$/m);
    expect(welcome).not.toContain('INTROSPECTION=false');
    expect(schemaErrors(welcome!)).toEqual([]);
  });

  it.each(Object.entries(SIGN_IN_OPERATIONS))(
    'sends a %s operation that validates against the schema',
    (_name, text) => {
      expect(schemaErrors(text)).toEqual([]);
    },
  );

  it('allows introspection', async () => {
    await expectIntrospection(gateway, true);
  });
});

describe.each([
  ['body', /The refresh token stays in this tab's memory too: each tab has a session of\n# its own/],
  [
    'cookie',
    /The refresh token is elsewhere: in an HttpOnly cookie of this browser\n# \(REFRESH_TOKEN_TRANSPORT=cookie\)/,
  ],
  [
    'both',
    /The gateway also sets it as an HttpOnly cookie for browser apps\n# \(REFRESH_TOKEN_TRANSPORT=both\), which this explorer does not use/,
  ],
] as const)('the page with REFRESH_TOKEN_TRANSPORT=%s', (transport, whereTheRefreshTokenLives) => {
  const html = renderGraphiqlPage({
    introspection: true,
    cookies: { refreshTokenTransport: transport, sameSite: 'lax', secure: true },
  });

  it('tells the script the transport, which decides whether to end the cookie session before a sign-in', () => {
    expect(dataAttribute(html, 'refresh-transport')).toBe(transport);
  });

  it('says where the refresh token lives, in a welcome that still validates', () => {
    const welcome = dataAttribute(html, 'default-query')!;
    expect(welcome).toMatch(whereTheRefreshTokenLives);
    expect(welcome).toContain('Headers, in the tabs and in the History panel, are kept across reloads only');
    expect(schemaErrors(welcome)).toEqual([]);
  });
});

describe('GRAPHIQL=false', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startTestGateway({ GRAPHIQL: 'false' });
  });

  afterAll(async () => {
    await gateway.close();
  });

  it('answers a browser GET of /graphql and every GraphiQL asset with the JSON 404 of unknown paths', async () => {
    await expectNotFound(await browserGet(gateway));
    for (const asset of ASSETS) await expectNotFound(await fetch(`${gateway.url}${asset}`));
  });

  it('still answers GET queries with a query string, and introspection stays on', async () => {
    const response = await fetch(`${gateway.url}/graphql?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { accept: BROWSER_ACCEPT, 'apollo-require-preflight': 'true' },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { __typename: 'Query' } });
    await expectIntrospection(gateway, true);
  });
});

describe('production', () => {
  let defaults: TestGateway;
  let opened: TestGateway;

  beforeAll(async () => {
    defaults = await startTestGateway({ NODE_ENV: 'production', MAIL_TRANSPORT: 'outbox' });
    opened = await startTestGateway({
      NODE_ENV: 'production',
      MAIL_TRANSPORT: 'outbox',
      GRAPHIQL: 'true',
      INTROSPECTION: 'true',
    });
  });

  afterAll(async () => {
    await Promise.all([defaults.close(), opened.close()]);
  });

  it('turns GraphiQL and introspection off by default', async () => {
    await expectNotFound(await browserGet(defaults));
    await expectNotFound(await fetch(`${defaults.url}/graphiql/init.js`));
    await expectIntrospection(defaults, false);
    expect((await defaults.graphql('{ __typename }')).data).toEqual({ __typename: 'Query' });
  });

  it('turns both on with GRAPHIQL=true and INTROSPECTION=true', async () => {
    const html = await page(opened);
    expect(dataAttribute(html, 'introspection')).toBe('true');
    expect((await fetch(`${opened.url}/graphiql/init.js`)).status).toBe(200);
    await expectIntrospection(opened, true);
  });
});

describe('GRAPHIQL=true with INTROSPECTION=false', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startTestGateway({ GRAPHIQL: 'true', INTROSPECTION: 'false' });
  });

  afterAll(async () => {
    await gateway.close();
  });

  it('tells the page, and the reader of the welcome, that introspection is off', async () => {
    const html = await page(gateway);
    expect(dataAttribute(html, 'introspection')).toBe('false');
    const welcome = dataAttribute(html, 'default-query');
    expect(welcome).toContain('Introspection is off on this gateway (INTROSPECTION=false)');
    expect(schemaErrors(welcome!)).toEqual([]);
  });

  it("refuses an introspection query while the welcome's query runs for a signed-in member", async () => {
    await expectIntrospection(gateway, false);
    const welcome = dataAttribute(await page(gateway), 'default-query')!;
    const { accessToken } = await gateway.login();
    const answer = await gateway.graphql(welcome, {}, { token: accessToken });
    expect(answer.errors).toBeUndefined();
    expect(answer.data.me.email).toBe(OWNER_EMAIL);
    expect(answer.data.me.memberships).toEqual([{ org: { name: 'Acme' }, role: { name: expect.any(String) } }]);
    expect(answer.data.orgs.edges).toEqual([{ node: { id: expect.any(String), name: 'Acme' } }]);
    expect(answer.data.sessions.edges).toContainEqual({ node: expect.objectContaining({ current: true }) });
  });
});
