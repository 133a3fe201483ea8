import { startTestGateway, type TestGateway } from '../support/test-gateway';

const APP = 'https://app.example.com';
const DEV_APP = 'http://localhost:3000';
const ALLOWED_HEADERS =
  'content-type, authorization, x-portcullis-csrf, apollo-require-preflight, x-apollo-operation-name';
const CORS_PATHS: Array<[string, string]> = [
  ['/graphql', 'GET, POST'],
  ['/auth/refresh', 'POST'],
  ['/auth/logout', 'POST'],
];

let listing: TestGateway;
let closed: TestGateway;

beforeAll(async () => {
  [listing, closed] = await Promise.all([startTestGateway({ CORS_ORIGINS: `${APP}, ${DEV_APP}` }), startTestGateway()]);
});

afterAll(async () => {
  await Promise.all([listing?.close(), closed?.close()]);
});

function preflight(server: TestGateway, path: string, origin?: string) {
  return fetch(`${server.url}${path}`, {
    method: 'OPTIONS',
    headers: {
      ...(origin === undefined ? {} : { origin }),
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type, x-portcullis-csrf',
    },
  });
}

function postQuery(server: TestGateway, origin: string) {
  return fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { origin, 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ __typename }' }),
  });
}

function accessControlHeaders(response: Response): string[] {
  return [...response.headers.keys()].filter((name) => name.startsWith('access-control-'));
}

async function expectRefusedPreflight(response: Response) {
  expect(response.status).toBe(403);
  expect(accessControlHeaders(response)).toEqual([]);
  expect(response.headers.get('vary')).toMatch(/\borigin\b/i);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await response.json()) as any;
  expect(body.errors[0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'request.origin_not_allowed' });
}

describe('preflight requests', () => {
  it.each(CORS_PATHS)(
    'answers one from a listed origin on %s with exactly the allowed methods and headers',
    async (path, methods) => {
      for (const origin of [APP, DEV_APP]) {
        const response = await preflight(listing, path, origin);
        expect(response.status).toBe(204);
        expect(await response.text()).toBe('');
        expect(
          Object.fromEntries([...response.headers].filter(([name]) => name.startsWith('access-control-'))),
        ).toEqual({
          'access-control-allow-origin': origin,
          'access-control-allow-credentials': 'true',
          'access-control-allow-methods': methods,
          'access-control-allow-headers': ALLOWED_HEADERS,
          'access-control-max-age': '600',
          'access-control-expose-headers': 'retry-after, x-request-id',
        });
        expect(response.headers.get('vary')).toMatch(/\borigin\b/i);
      }
    },
  );

  it.each(CORS_PATHS.map(([path]) => path))(
    'refuses an unlisted origin on %s with 403 and no CORS header',
    async (path) => {
      await expectRefusedPreflight(await preflight(listing, path, 'https://evil.test'));
    },
  );

  it.each(CORS_PATHS.map(([path]) => path))('refuses every origin on %s when CORS_ORIGINS is unset', async (path) => {
    await expectRefusedPreflight(await preflight(closed, path, APP));
  });

  it.each([
    'https://app.example.com.evil.test',
    'https://evil.test/https://app.example.com',
    'https://evil.test?https://app.example.com',
    'https://app.example.com:443',
    'https://app.example.com/',
    'https://APP.example.com',
    'http://app.example.com',
    'https://sub.app.example.com',
    `${APP}, ${DEV_APP}`,
    'null',
    '',
  ])('refuses the look-alike origin %j', async (origin) => {
    await expectRefusedPreflight(await preflight(listing, '/graphql', origin));
    expect(accessControlHeaders(await postQuery(listing, origin))).toEqual([]);
  });

  it('refuses one without an Origin before Apollo sees it (403, not 400)', async () => {
    await expectRefusedPreflight(await preflight(listing, '/graphql'));
  });
});

describe('paths outside CORS', () => {
  it.each(['/auth/check', '/healthz', '/audit/export', '/.well-known/jwks.json'])(
    'never answer %s with a CORS header, even to a listed origin',
    async (path) => {
      const get = await fetch(`${listing.url}${path}`, { headers: { origin: APP } });
      expect(get.status).not.toBe(500);
      expect(accessControlHeaders(get)).toEqual([]);
      const options = await fetch(`${listing.url}${path}`, {
        method: 'OPTIONS',
        headers: { origin: APP, 'access-control-request-method': 'GET' },
      });
      expect(options.status).toBe(405);
      expect(accessControlHeaders(options)).toEqual([]);
    },
  );
});

describe('requests from a page', () => {
  it('lets a listed origin read a POST /graphql answer, with credentials', async () => {
    const response = await postQuery(listing, APP);
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(APP);
    expect(response.headers.get('access-control-allow-credentials')).toBe('true');
    expect(response.headers.get('access-control-expose-headers')).toBe('retry-after, x-request-id');
    expect(response.headers.get('vary')).toMatch(/\borigin\b/i);
    expect(await response.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it('answers an unlisted origin as usual, but without a header that would let its page read it', async () => {
    for (const server of [listing, closed]) {
      const response = await postQuery(server, 'https://evil.test');
      expect(response.status).toBe(200);
      expect(accessControlHeaders(response)).toEqual([]);
      expect(response.headers.get('vary')).toMatch(/\borigin\b/i);
      expect(await response.json()).toEqual({ data: { __typename: 'Query' } });
    }
  });
});
