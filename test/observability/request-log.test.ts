import { startTestGateway, OWNER_EMAIL, type TestGateway } from '../support/test-gateway';
import { captureLogs } from './log-capture';

const logs = captureLogs('info');
let server: TestGateway;

beforeAll(async () => {
  server = await startTestGateway({}, { logger: logs.logger });
});

afterAll(async () => {
  await server.close();
});

/** The request line of the request the gateway answered with this id (onResponse runs after the answer). */
async function requestLine(requestId: string | null): Promise<Record<string, any>> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const line = logs.parsed().find((entry) => entry.msg === 'request' && entry.requestId === requestId);
    if (line) return line;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no request line for ${requestId}`);
}

it('writes one line for a GraphQL query: route, operation name and root field, caller, outcome, duration', async () => {
  const { accessToken, userId } = await server.login();
  const [{ org_id: orgId }] = await server.sql('SELECT org_id FROM sessions WHERE user_id = $1 LIMIT 1', [userId]);
  const response = await fetch(`${server.url}/graphql?x=1`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
    body: JSON.stringify({ query: 'query WhoAmI { me { id } }', operationName: 'WhoAmI' }),
  });
  expect(response.status).toBe(200);
  const requestId = response.headers.get('x-request-id');
  const line = await requestLine(requestId);
  expect(line).toMatchObject({
    level: 30,
    msg: 'request',
    method: 'POST',
    path: '/graphql',
    operation: 'WhoAmI',
    rootFields: ['me'],
    status: 200,
    outcome: 'ok',
    requestId,
    principalId: userId,
    principalKind: 'HUMAN',
    orgId,
  });
  expect(typeof line.durationMs).toBe('number');
  expect(logs.parsed().filter((entry) => entry.msg === 'request' && entry.requestId === requestId)).toHaveLength(1);
});

it('names the error code of a failed sign-in as its outcome, and no email', async () => {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query: 'mutation SignIn($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }',
      variables: { e: OWNER_EMAIL, p: 'a wrong password here' },
    }),
  });
  const line = await requestLine(response.headers.get('x-request-id'));
  expect(line).toMatchObject({
    operation: 'SignIn',
    rootFields: ['login'],
    status: 200,
    outcome: 'auth.invalid_credentials',
  });
  expect(line.principalId).toBeUndefined();
  expect(JSON.stringify(line)).not.toContain(OWNER_EMAIL);
});

it('logs an unmatched path without its query string, as a 404', async () => {
  const response = await fetch(`${server.url}/no/such/page?token=abc123secret`);
  expect(response.status).toBe(404);
  const line = await requestLine(response.headers.get('x-request-id'));
  expect(line).toMatchObject({ level: 30, method: 'GET', path: '/no/such/page', status: 404, outcome: 'http_404' });
  expect(line.operation).toBeUndefined();
});

it('takes the outcome of a refusal made before Apollo from the error it answers', async () => {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"query": ',
  });
  expect(response.status).toBe(400);
  const line = await requestLine(response.headers.get('x-request-id'));
  expect(line).toMatchObject({ path: '/graphql', status: 400, outcome: 'request.invalid_input' });
});

it('logs /auth/check with the caller and the decision', async () => {
  const { accessToken, userId } = await server.login();
  const allowed = await fetch(`${server.url}/auth/check`, { headers: { authorization: `Bearer ${accessToken}` } });
  expect(await requestLine(allowed.headers.get('x-request-id'))).toMatchObject({
    path: '/auth/check',
    status: 200,
    outcome: 'ok',
    principalId: userId,
  });
  const refused = await fetch(`${server.url}/auth/check`, { headers: { authorization: 'Bearer not-a-token' } });
  expect(await requestLine(refused.headers.get('x-request-id'))).toMatchObject({
    status: 401,
    outcome: 'auth.invalid_token',
  });
});
