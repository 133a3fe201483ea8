import { startTestGateway, OWNER_EMAIL, OWNER_PASSWORD, type TestGateway } from '../support/test-gateway';
import { scrape, samples, valueOf } from './metrics-text';

let server: TestGateway;

beforeAll(async () => {
  server = await startTestGateway({ RATE_LIMIT_RESET_PASSWORD_PER_IP: '1/1h' });
});

afterAll(async () => {
  await server.close();
});

const LOGIN = `mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }`;

async function postGraphQL(body: Record<string, unknown>, token?: string) {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  await response.text();
  return response.status;
}

// First in the file: the session count is cached from the first scrape on.
it('reports active sessions (one COUNT per few seconds however often scraped), the pool and process metrics', async () => {
  const activeSessions = async () =>
    (
      await server.sql<{ count: number }>(
        'SELECT count(*)::int AS count FROM sessions WHERE revoked_at IS NULL AND expires_at > now()',
      )
    )[0].count;
  await server.login();
  const first = await scrape(server.url);
  expect(valueOf(first, 'portcullis_sessions_active')).toBe(await activeSessions());
  await server.login();
  expect(valueOf(await scrape(server.url), 'portcullis_sessions_active')).toBe((await activeSessions()) - 1);
  await new Promise((resolve) => setTimeout(resolve, 5_100));
  const text = await scrape(server.url);
  expect(valueOf(text, 'portcullis_sessions_active')).toBe(await activeSessions());

  for (const state of ['idle', 'in_use', 'waiting']) {
    expect(samples(text, 'portcullis_db_pool_connections').some((sample) => sample.labels.state === state)).toBe(true);
  }
  expect(valueOf(text, 'portcullis_db_pool_connections', { state: 'idle' })).toBeGreaterThan(0);
  expect(text).toContain('process_cpu_seconds_total');
  expect(text).toContain('nodejs_eventloop_lag_seconds');
  expect(text).toContain('nodejs_heap_size_used_bytes');
});

it('counts sign-ins by outcome: a success and a wrong password each move their own series', async () => {
  const before = await scrape(server.url);
  await server.graphql(LOGIN, { email: OWNER_EMAIL, password: OWNER_PASSWORD });
  await server.graphql(LOGIN, { email: OWNER_EMAIL, password: 'not the password at all' });
  await server.graphql(LOGIN, { email: OWNER_EMAIL, password: 'not the password either' });
  const after = await scrape(server.url);
  const login = (outcome: string, text: string) =>
    valueOf(text, 'portcullis_auth_events_total', { kind: 'login', outcome });
  expect(login('success', after) - login('success', before)).toBe(1);
  expect(login('auth.invalid_credentials', after) - login('auth.invalid_credentials', before)).toBe(2);
});

it('counts refreshes and forward-auth decisions', async () => {
  const { accessToken, refreshToken } = await server.login();
  const before = await scrape(server.url);
  const refreshed = await server.graphql(
    'mutation ($token: String!) { refreshSession(refreshToken: $token) { accessToken } }',
    { token: refreshToken },
  );
  expect(refreshed.errors).toBeUndefined();
  await server.graphql('mutation ($token: String!) { refreshSession(refreshToken: $token) { accessToken } }', {
    token: 'no-such-refresh-token',
  });
  expect(
    (await fetch(`${server.url}/auth/check`, { headers: { authorization: `Bearer ${accessToken}` } })).status,
  ).toBe(200);
  expect((await fetch(`${server.url}/auth/check`)).status).toBe(401);
  const after = await scrape(server.url);
  const moved = (labels: Record<string, string>) =>
    valueOf(after, 'portcullis_auth_events_total', labels) - valueOf(before, 'portcullis_auth_events_total', labels);
  expect(moved({ kind: 'refresh', outcome: 'success' })).toBe(1);
  expect(moved({ kind: 'refresh', outcome: 'auth.invalid_refresh_token' })).toBe(1);
  expect(moved({ kind: 'forward_auth', outcome: 'success' })).toBe(1);
  expect(moved({ kind: 'forward_auth', outcome: 'auth.unauthenticated' })).toBe(1);
});

it('counts a refusal by an abuse limit under the limit’s name', async () => {
  const reset = `mutation ($token: String!) { resetPassword(token: $token, newPassword: "a new password 1234") }`;
  const before = await scrape(server.url);
  await server.graphql(reset, { token: 'first-made-up-token' });
  const refused = await server.graphql(reset, { token: 'second-made-up-token' });
  expect(refused.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
  const after = await scrape(server.url);
  const limited = (text: string) => valueOf(text, 'portcullis_rate_limited_total', { limit: 'resetPasswordPerIp' });
  expect(limited(after) - limited(before)).toBe(1);
});

it('counts requests by route, root field and status, with the duration histogram beside', async () => {
  const { accessToken } = await server.login();
  const before = await scrape(server.url);
  expect(await postGraphQL({ query: '{ me { id } }' }, accessToken)).toBe(200);
  expect(await postGraphQL({ query: '{ me { id } viewer: me { email } }' }, accessToken)).toBe(200);
  expect(await postGraphQL({ query: '{ me { id } sessions { totalCount } }' }, accessToken)).toBe(200);
  expect(await postGraphQL({ query: '{ noSuchField }' })).toBe(400);
  expect((await fetch(`${server.url}/no/such/path?token=secret`)).status).toBe(404);
  const after = await scrape(server.url);
  const moved = (labels: Record<string, string>) =>
    valueOf(after, 'portcullis_http_requests_total', labels) -
    valueOf(before, 'portcullis_http_requests_total', labels);
  expect(moved({ route: '/graphql', operation: 'me', code: '200' })).toBe(2);
  expect(moved({ route: '/graphql', operation: 'multiple', code: '200' })).toBe(1);
  expect(moved({ route: '/graphql', operation: 'unknown', code: '400' })).toBe(1);
  expect(moved({ route: 'unmatched', operation: '-', code: '404' })).toBe(1);
  const durations = (text: string) =>
    valueOf(text, 'portcullis_http_request_duration_seconds_count', { route: '/graphql', operation: 'me' });
  expect(durations(after) - durations(before)).toBe(2);
  // The scrape before this one is itself counted.
  expect(valueOf(after, 'portcullis_http_requests_total', { route: '/metrics', operation: '-' })).toBeGreaterThan(0);
  const routes = new Set(samples(after, 'portcullis_http_requests_total').map((sample) => sample.labels.route));
  expect([...routes].some((route) => route.includes('no/such'))).toBe(false);
});

it('makes no label value of an operation name the client chose', async () => {
  const { accessToken } = await server.login();
  const names = Array.from({ length: 5 }, (_, index) => `Random${index}${Math.random().toString(36).slice(2)}`);
  for (const name of names) {
    await postGraphQL({ query: `query ${name} { me { id } }`, operationName: name }, accessToken);
  }
  // An operation name the document does not define resolves no operation at all.
  await postGraphQL({ query: 'query Known { me { id } }', operationName: 'NotInTheDocument' }, accessToken);
  const text = await scrape(server.url);
  for (const name of [...names, 'NotInTheDocument']) expect(text).not.toContain(name);
  const operations = new Set(samples(text, 'portcullis_http_requests_total').map((sample) => sample.labels.operation));
  expect(operations.has('unknown')).toBe(true);
});

it('counts every API key check, a reused one at /auth/check too', async () => {
  const { accessToken } = await server.login();
  const [{ id: orgId }] = await server.sql<{ id: string }>('SELECT id FROM orgs LIMIT 1');
  const [{ id: roleId }] = await server.sql<{ id: string }>(
    `SELECT id FROM roles WHERE org_id = $1 AND key = 'admin'`,
    [orgId],
  );
  const robot = await server.graphql(
    'mutation ($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) { id } }',
    { input: { orgId, name: 'Metrics Bot', roleId } },
    { token: accessToken },
  );
  const key = await server.graphql(
    'mutation ($input: CreateKeyInput!) { createKey(input: $input) { token } }',
    { input: { ownerId: robot.data.createServiceAccount.id, name: 'scraper', scopes: ['org:read'] } },
    { token: accessToken },
  );
  const token: string = key.data.createKey.token;
  const before = await scrape(server.url);
  expect(await postGraphQL({ query: '{ me { id } }' }, token)).toBe(200);
  for (let i = 0; i < 2; i += 1) {
    expect((await fetch(`${server.url}/auth/check`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(
      200,
    );
  }
  // A key-shaped token that does not verify.
  const forged = `${token.slice(0, -4)}AAAA`;
  expect((await fetch(`${server.url}/auth/check`, { headers: { authorization: `Bearer ${forged}` } })).status).toBe(
    401,
  );
  const after = await scrape(server.url);
  const moved = (labels: Record<string, string>) =>
    valueOf(after, 'portcullis_auth_events_total', labels) - valueOf(before, 'portcullis_auth_events_total', labels);
  expect(moved({ kind: 'key', outcome: 'success' })).toBe(3);
  expect(moved({ kind: 'key', outcome: 'auth.invalid_token' })).toBe(1);
  expect(moved({ kind: 'forward_auth', outcome: 'auth.invalid_token' })).toBe(1);
});
