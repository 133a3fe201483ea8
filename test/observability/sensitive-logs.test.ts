import { MEMBER_PASSWORD, createUser, roleId, uniqueEmail } from '../support/fixtures';
import { startSmtpSink, tokenFrom, type SmtpSink } from '../support/smtp-sink';
import { OWNER_EMAIL, OWNER_PASSWORD, startTestGateway, type TestGateway } from '../support/test-gateway';
import { captureLogs } from './log-capture';

/**
 * Every log line, at the most verbose level, from start-up to shutdown, while the gateway handles
 * sign-ins, refreshes, API keys, a password reset, an invitation, account pages with a token in the
 * URL, cookies and variables holding passwords: none of those values may appear anywhere.
 */
const logs = captureLogs('trace');
let server: TestGateway;
let sink: SmtpSink;
/** Every value that must never be logged, gathered as the test produces them. */
const secrets = new Set<string>([OWNER_EMAIL, OWNER_PASSWORD]);

const LOGIN = 'mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken } }';
const PUBLIC_ORIGIN = 'http://portcullis.test';

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

beforeAll(async () => {
  sink = await startSmtpSink({ refuses: (address) => address.startsWith('refused-') });
  server = await startTestGateway(
    { SMTP_URL: sink.url, REFRESH_TOKEN_TRANSPORT: 'both', LOG_LEVEL: 'trace' },
    { logger: logs.logger },
  );
  try {
    await driveEverything();
  } finally {
    // Shutdown logs too, so it happens before the lines are read.
    await server.close();
  }
}, 60_000);

afterAll(async () => {
  await sink.close();
});

/** Waits (at most 5 s) for a log line matching `pattern`: work the gateway does after answering. */
async function waitForLine(pattern: RegExp): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!logs.lines.some((line) => pattern.test(line))) {
    if (Date.now() > deadline) throw new Error(`no log line matching ${pattern}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function driveEverything() {
  // Sign-ins, right and wrong, and refreshes: in the body and as a cookie.
  const signedIn = await server.graphql(LOGIN, { e: OWNER_EMAIL, p: OWNER_PASSWORD });
  const { accessToken, refreshToken } = signedIn.data.login;
  secrets.add(accessToken).add(refreshToken);
  const wrongPassword = 'a wrong password, never logged';
  secrets.add(wrongPassword);
  await server.graphql(LOGIN, { e: OWNER_EMAIL, p: wrongPassword });
  const refreshed = await server.graphql(
    'mutation ($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken } }',
    { t: refreshToken },
  );
  secrets.add(refreshed.data.refreshSession.accessToken).add(refreshed.data.refreshSession.refreshToken);
  // A spent token again: a replay, which revokes the session and is audited.
  await server.graphql('mutation ($t: String!) { refreshSession(refreshToken: $t) { accessToken } }', {
    t: refreshToken,
  });
  const cookieSession = (await server.graphql(LOGIN, { e: OWNER_EMAIL, p: OWNER_PASSWORD })).data.login;
  secrets.add(cookieSession.accessToken).add(cookieSession.refreshToken);
  const otherCookie = 'an-unrelated-cookie-value-0123456789';
  secrets.add(otherCookie);
  const cookieRefresh = await post('/auth/refresh', undefined, {
    cookie: `portcullis_refresh=${cookieSession.refreshToken}; tracking=${otherCookie}`,
    origin: PUBLIC_ORIGIN,
    'x-portcullis-csrf': '1',
  });
  expect(cookieRefresh.status).toBe(200);
  secrets.add(JSON.parse(cookieRefresh.body).accessToken);
  const token = cookieSession.accessToken;

  // API keys: created, used for GraphQL and at /auth/check.
  const [{ id: orgId }] = await server.sql<{ id: string }>('SELECT id FROM orgs LIMIT 1');
  const robot = await server.graphql(
    'mutation ($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) { id email } }',
    { input: { orgId, name: 'Log Bot', roleId: await roleId(server, orgId, 'admin') } },
    { token },
  );
  secrets.add(robot.data.createServiceAccount.email);
  const key = await server.graphql(
    'mutation ($input: CreateKeyInput!) { createKey(input: $input) { token } }',
    { input: { ownerId: robot.data.createServiceAccount.id, name: 'logs', scopes: ['org:read'] } },
    { token },
  );
  const apiKey: string = key.data.createKey.token;
  secrets.add(apiKey);
  await server.graphql('{ me { id } }', {}, { token: apiKey });
  await fetch(`${server.url}/auth/check`, { headers: { authorization: `Bearer ${apiKey}` } });

  // A password reset: requested, its page opened with the token in the URL, then used.
  const member = uniqueEmail('logged-member');
  secrets.add(member).add(MEMBER_PASSWORD);
  await createUser(server, member);
  const since = sink.messages.length;
  await server.graphql('mutation ($e: String!) { requestPasswordReset(email: $e) }', { e: member });
  const resetToken = tokenFrom(await sink.waitFor(member, since), '/password/reset');
  secrets.add(resetToken);
  await fetch(`${server.url}/password/reset?token=${resetToken}`, { headers: { accept: 'text/html' } });
  const newPassword = 'the new password of the member';
  secrets.add(newPassword);
  const reset = await server.graphql(
    'mutation ($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }',
    {
      t: resetToken,
      p: newPassword,
    },
  );
  expect(reset.errors).toBeUndefined();

  // An invitation: sent, its page opened, accepted with a password.
  const invitee = uniqueEmail('logged-invitee');
  secrets.add(invitee);
  const invitedSince = sink.messages.length;
  const invited = await server.graphql(
    'mutation ($input: InviteInput!) { invite(input: $input) { id } }',
    { input: { orgId, email: invitee, roleId: await roleId(server, orgId, 'viewer') } },
    { token },
  );
  expect(invited.errors).toBeUndefined();
  const inviteToken = tokenFrom(await sink.waitFor(invitee, invitedSince), '/invitations/accept');
  secrets.add(inviteToken);
  await fetch(`${server.url}/invitations/accept?token=${inviteToken}`, { headers: { accept: 'text/html' } });
  const inviteePassword = 'the invitee chose this password';
  secrets.add(inviteePassword);
  const accepted = await server.graphql(
    'mutation ($input: AcceptInvitationInput!) { acceptInvitation(input: $input) { accessToken refreshToken } }',
    { input: { token: inviteToken, password: inviteePassword, firstName: 'Invitee', lastName: 'Person' } },
  );
  expect(accepted.errors).toBeUndefined();
  secrets.add(accepted.data.acceptInvitation.accessToken).add(accepted.data.acceptInvitation.refreshToken);

  // Mail the SMTP server refuses, quoting the recipient: a password reset (sent in the background)
  // and an invitation (whose mutation fails). The failures are logged; the addresses must not be.
  const refusedMember = uniqueEmail('refused-member');
  secrets.add(refusedMember);
  await createUser(server, refusedMember);
  await server.graphql('mutation ($e: String!) { requestPasswordReset(email: $e) }', { e: refusedMember });
  const refusedInvitee = uniqueEmail('refused-invitee');
  secrets.add(refusedInvitee);
  const refusedInvite = await server.graphql(
    'mutation ($input: InviteInput!) { invite(input: $input) { id } }',
    { input: { orgId, email: refusedInvitee, roleId: await roleId(server, orgId, 'viewer') } },
    { token },
  );
  expect(refusedInvite.errors).toBeDefined();
  await waitForLine(/could not send a password reset email/);

  // Variables with a password: valid, of the wrong type, and in a query that fails validation.
  const variablePassword = 'password-in-variables-0123';
  secrets.add(variablePassword);
  await post('/graphql', { query: LOGIN, variables: { e: member, p: variablePassword } });
  await post('/graphql', {
    query: 'mutation ($p: Int!) { logout(refreshToken: $p) }',
    variables: { p: variablePassword },
  });
  await post('/graphql', { query: '{ noSuchField }', variables: { password: variablePassword } });
  await post('/graphql?password=' + variablePassword, { query: '{ me { id } }' });
  // An unknown path carrying a token in its query string, and a bogus bearer token.
  const pathToken = 'query-string-token-0123456789';
  secrets.add(pathToken);
  await fetch(`${server.url}/nothing/here?token=${pathToken}`);
  const bogusBearer = 'bogus.bearer.token-0123456789';
  secrets.add(bogusBearer);
  await fetch(`${server.url}/auth/check`, { headers: { authorization: `Bearer ${bogusBearer}` } });
}

it('wrote request lines at every level of detail', () => {
  const parsed = logs.parsed();
  expect(parsed.filter((line) => line.msg === 'request').length).toBeGreaterThan(20);
  expect(parsed.some((line) => line.msg === 'created the first org and its owner')).toBe(true);
});

it('logged none of the passwords, tokens, keys, cookies or email addresses', () => {
  const output = logs.lines.join('');
  const found = [...secrets].filter((secret) => output.includes(secret));
  expect(found).toEqual([]);
  // Nor any other address: the only @ a line may hold is not an email.
  expect(output.match(/[\w.+-]+@[\w-]+(\.[\w-]+)+/g) ?? []).toEqual([]);
});
