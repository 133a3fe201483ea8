import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import {
  addMember,
  createOrgAs,
  createUser,
  MEMBER_PASSWORD,
  person,
  type Person,
  uniqueEmail,
} from '../support/fixtures';
import { errorCode, type GraphQLResponse } from '../support/graphql-client';
import { startSmtpSink, tokenFrom, type SmtpSink } from '../support/smtp-sink';
import { withOpenedChanges } from '../support/audit-changes';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

const CHANGE =
  'mutation ($current: String!, $next: String!) { changePassword(currentPassword: $current, newPassword: $next) }';
const REQUEST_RESET = 'mutation ($email: String!) { requestPasswordReset(email: $email) }';
const RESET = 'mutation ($token: String!, $next: String!) { resetPassword(token: $token, newPassword: $next) }';
const SET = 'mutation ($userId: ID!, $password: String!) { setPassword(userId: $userId, password: $password) }';
const LOGIN =
  'mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }';
const REFRESH = 'mutation ($token: String!) { refreshSession(refreshToken: $token) { accessToken } }';
const ME = '{ me { id } }';

const NEW_PASSWORD = 'a brand new passphrase';
const LOCKOUT_THRESHOLD = 3;

let server: TestGateway;
let sink: SmtpSink;
/** Every password and token this file sends; none may ever appear in the audit log. */
const secretsSent = new Set<string>([MEMBER_PASSWORD]);

beforeAll(async () => {
  sink = await startSmtpSink();
  server = await startTestGateway({
    SMTP_URL: sink.url,
    LOCKOUT_THRESHOLD: String(LOCKOUT_THRESHOLD),
    // The race below sends one token eight times at once; test/rate-limits covers this limit.
    RATE_LIMIT_RESET_PASSWORD_PER_TOKEN: '10/15m',
  });
});

afterAll(async () => {
  await server.close();
  await sink.close();
});

/** Sends a mutation, remembering the passwords and tokens long enough to be searched for. */
function send(query: string, variables: Record<string, string>, token?: string): Promise<GraphQLResponse> {
  for (const [name, value] of Object.entries(variables)) {
    if (name !== 'userId' && value.length >= 12) secretsSent.add(value);
  }
  return server.graphql(query, variables, { token });
}

const changePassword = (token: string, current: string, next: string) => send(CHANGE, { current, next }, token);
const resetPassword = (token: string, next: string) => send(RESET, { token, next });
const setPassword = (callerToken: string | undefined, userId: string, password: string) =>
  send(SET, { userId, password }, callerToken);

async function signsIn(email: string, password: string): Promise<boolean> {
  return Boolean((await server.graphql(LOGIN, { email, password })).data?.login);
}

async function isSignedIn(accessToken: string): Promise<boolean> {
  return Boolean((await server.graphql(ME, {}, { token: accessToken })).data?.me);
}

/** Asks for a reset link for `email` and returns the message that delivered it, and its token. */
async function requestResetLink(email: string) {
  const since = sink.messages.length;
  expect((await server.graphql(REQUEST_RESET, { email })).data?.requestPasswordReset).toBe(true);
  const mail = await sink.waitFor(email, since);
  const token = tokenFrom(mail, '/password/reset');
  secretsSent.add(token);
  return { mail, token };
}

function expectRefused(response: GraphQLResponse, reason: string, field?: string) {
  expect(response.data ?? null).toBeNull();
  expect(response.errors?.[0].extensions).toMatchObject({ reason, ...(field ? { field } : {}) });
}

/** The account chain's record of each event (an account event is also copied to the account's orgs). */
async function auditOf(userId: string, action: string) {
  const rows = await server.sql(
    'SELECT * FROM audit_logs WHERE target_type = $1 AND target_id = $2 AND action = $3 AND org_id IS NULL',
    ['User', userId, action],
  );
  return withOpenedChanges(server, rows);
}

/** Reset requests that reached no account, opened, for the given addresses, in order. */
async function unmatchedResetRequests(emails: string[]) {
  const rows = await server.sql(
    `SELECT target_type, target_id, changes FROM audit_logs
      WHERE action = 'user.password_reset_requested' AND target_id IS NULL ORDER BY seq`,
  );
  return (await withOpenedChanges(server, rows)).filter((row) => emails.includes(row.changes?.email as string));
}

async function passwordHashOf(userId: string): Promise<string> {
  const [row] = await server.sql('SELECT password_hash FROM users WHERE id = $1', [userId]);
  return row.password_hash;
}

describe('changePassword', () => {
  it('refuses a wrong current password and changes nothing', async () => {
    const member = await person(server, 'wrongcurrent');
    const response = await changePassword(member.token, 'not my password at all', NEW_PASSWORD);
    expect(errorCode(response)).toBe('BAD_USER_INPUT');
    expectRefused(response, 'password.incorrect', 'currentPassword');
    expect(await signsIn(member.email, MEMBER_PASSWORD)).toBe(true);
    expect(await auditOf(member.id, 'user.password_changed')).toHaveLength(0);
  });

  it.each([
    ['11 characters', 'abcdefghijk', 'password.too_short'],
    ['129 characters', 'x'.repeat(129), 'password.too_long'],
    ['a common password', 'qwerty123456', 'password.too_common'],
    ['11 characters once normalised (12 code points typed decomposed)', 'pa\u0301ssword-12', 'password.too_short'],
  ])('refuses a new password of %s', async (_label, next, reason) => {
    const member = await person(server, 'policy');
    const response = await changePassword(member.token, MEMBER_PASSWORD, next);
    expect(errorCode(response)).toBe('BAD_USER_INPUT');
    expectRefused(response, reason, 'newPassword');
    expect(await signsIn(member.email, MEMBER_PASSWORD)).toBe(true);
  });

  it('accepts a 12-character Unicode password: the old one stops working, the current session stays, others end', async () => {
    const member = await person(server, 'unicode');
    const other = await server.login(member.email, MEMBER_PASSWORD);
    const unicode = 'ünïcødé-pâss';
    expect([...unicode]).toHaveLength(12);

    const response = await changePassword(member.token, MEMBER_PASSWORD, unicode);
    expect(response.errors).toBeUndefined();
    expect(response.data.changePassword).toBe(true);

    expect(await signsIn(member.email, MEMBER_PASSWORD)).toBe(false);
    expect(await signsIn(member.email, unicode)).toBe(true);
    // The same text in decomposed form is the same password.
    expect(await signsIn(member.email, unicode.normalize('NFD'))).toBe(true);
    expect(await isSignedIn(member.token)).toBe(true);
    expect(await isSignedIn(other.accessToken)).toBe(false);
    expect((await server.graphql(REFRESH, { token: other.refreshToken })).data?.refreshSession).toBeFalsy();

    const [user] = await server.sql('SELECT password_changed_at FROM users WHERE id = $1', [member.id]);
    expect(user.password_changed_at).not.toBeNull();
    const audit = await auditOf(member.id, 'user.password_changed');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor_id: member.id, changes: { sessionsEnded: 1 } });
  });

  it('retires reset links sent before the change', async () => {
    const member = await person(server, 'changeretires');
    const { token } = await requestResetLink(member.email);
    expect((await changePassword(member.token, MEMBER_PASSWORD, NEW_PASSWORD)).data?.changePassword).toBe(true);
    expectRefused(await resetPassword(token, 'yet another passphrase'), 'password.invalid_reset_token', 'token');
  });

  it('requires a signed-in caller', async () => {
    expect(errorCode(await server.graphql(CHANGE, { current: MEMBER_PASSWORD, next: NEW_PASSWORD }))).toBe(
      'UNAUTHENTICATED',
    );
  });
});

describe('requestPasswordReset and resetPassword', () => {
  it('emails a link built from PUBLIC_URL, in text and HTML, that works once', async () => {
    const member = await person(server, 'reset');
    const { mail, token } = await requestResetLink(member.email);
    const link = `http://portcullis.test/password/reset?token=${token}`;
    expect(mail.subject).toMatch(/reset/i);
    expect(mail.text).toContain(link);
    expect(mail.html).toContain(`href="${link}"`);
    expect(Buffer.from(token, 'base64url').length).toBeGreaterThanOrEqual(16);

    const [stored] = await server.sql(
      `SELECT user_id, used_at, expires_at - now() > interval '59 minutes' AS ends_after_59,
              expires_at - now() <= interval '60 minutes' AS ends_within_60
         FROM password_reset_tokens WHERE token_hash = sha256($1::bytea)`,
      [Buffer.from(token)],
    );
    expect(stored).toMatchObject({ user_id: member.id, used_at: null, ends_after_59: true, ends_within_60: true });
    const everyStoredToken = await server.sql('SELECT encode(token_hash, $1) AS hash FROM password_reset_tokens', [
      'escape',
    ]);
    expect(JSON.stringify(everyStoredToken)).not.toContain(token);

    const response = await resetPassword(token, NEW_PASSWORD);
    expect(response.errors).toBeUndefined();
    expect(response.data.resetPassword).toBe(true);
    expect(await signsIn(member.email, NEW_PASSWORD)).toBe(true);
    expect(await signsIn(member.email, MEMBER_PASSWORD)).toBe(false);

    const again = await resetPassword(token, 'a second new passphrase');
    expect(errorCode(again)).toBe('BAD_USER_INPUT');
    expectRefused(again, 'password.invalid_reset_token', 'token');
    expect(await signsIn(member.email, NEW_PASSWORD)).toBe(true);
    expect(await auditOf(member.id, 'user.password_reset_requested')).toHaveLength(1);
    expect(await auditOf(member.id, 'user.password_reset')).toHaveLength(1);
  });

  it('matches the email case-insensitively', async () => {
    const member = await person(server, 'CaseMatters');
    const since = sink.messages.length;
    await server.graphql(REQUEST_RESET, { email: member.email.toUpperCase() });
    expect(tokenFrom(await sink.waitFor(member.email, since), '/password/reset')).toBeTruthy();
  });

  it('ends every session of the account', async () => {
    const member = await person(server, 'resetsessions');
    const second = await server.login(member.email, MEMBER_PASSWORD);
    const { token } = await requestResetLink(member.email);
    expect((await resetPassword(token, NEW_PASSWORD)).data?.resetPassword).toBe(true);
    expect(await isSignedIn(member.token)).toBe(false);
    expect(await isSignedIn(second.accessToken)).toBe(false);
    expect((await server.graphql(REFRESH, { token: second.refreshToken })).data?.refreshSession).toBeFalsy();
    const [audit] = await auditOf(member.id, 'user.password_reset');
    expect(audit).toMatchObject({ actor_id: member.id, changes: { sessionsEnded: 2 } });
  });

  it('refuses an expired token, an unknown one, and a new password the policy refuses', async () => {
    const member = await person(server, 'expired');
    const { token } = await requestResetLink(member.email);

    expectRefused(await resetPassword(token, 'short'), 'password.too_short', 'newPassword');
    await server.sql(`UPDATE password_reset_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [
      member.id,
    ]);
    expectRefused(await resetPassword(token, NEW_PASSWORD), 'password.invalid_reset_token', 'token');
    expectRefused(await resetPassword('A'.repeat(43), NEW_PASSWORD), 'password.invalid_reset_token', 'token');
    expect(await signsIn(member.email, MEMBER_PASSWORD)).toBe(true);
    expect(await auditOf(member.id, 'user.password_reset')).toHaveLength(0);
  });

  it('answers true and sends nothing for an unknown, deactivated or service-account address', async () => {
    const unknown = uniqueEmail('nobody');
    const deactivated = uniqueEmail('gone');
    await server.sql(`UPDATE users SET status = 'DEACTIVATED' WHERE id = $1`, [await createUser(server, deactivated)]);
    const robot = uniqueEmail('robot');
    await server.sql(`INSERT INTO users (email, kind) VALUES ($1, 'SERVICE_ACCOUNT')`, [robot]);
    const [{ count: tokensBefore }] = await server.sql('SELECT count(*)::int AS count FROM password_reset_tokens');
    const since = sink.messages.length;

    for (const email of [unknown, deactivated, robot]) {
      const response = await server.graphql(REQUEST_RESET, { email });
      expect(response.errors).toBeUndefined();
      expect(response.data.requestPasswordReset).toBe(true);
    }
    // A known address asked for afterwards: once its message is in, the others would have been too.
    const member = await person(server, 'known');
    await requestResetLink(member.email);

    const recipients = sink.messages.slice(since).flatMap((mail) => [mail.to].flat().map((to) => to?.text));
    expect(recipients).toEqual([member.email]);
    const [{ count: tokensAfter }] = await server.sql('SELECT count(*)::int AS count FROM password_reset_tokens');
    expect(tokensAfter).toBe(tokensBefore + 1);
    // Each request is audited with the address asked for; none of these reached an account.
    const audited = await unmatchedResetRequests([unknown, deactivated, robot]);
    expect(audited).toEqual(
      [unknown, deactivated, robot].map((email) => ({ target_type: 'User', target_id: null, changes: { email } })),
    );
  });

  it('does the same database work for an address with an account as for one without', async () => {
    const member = await person(server, 'counted');
    const statementsFor = async (email: string) => {
      const before = server.gateway.database.statements.total;
      const response = await server.graphql(REQUEST_RESET, { email });
      expect(response.data.requestPasswordReset).toBe(true);
      return server.gateway.database.statements.total - before;
    };
    const known = await statementsFor(member.email);
    const unknown = uniqueEmail('uncounted');
    expect(await statementsFor(`  ${unknown.toUpperCase()} `)).toBe(known);
    expect(await auditOf(member.id, 'user.password_reset_requested')).toEqual([
      expect.objectContaining({ changes: { email: member.email.toLowerCase(), validMinutes: 60 } }),
    ]);
    const [withoutAccount] = await unmatchedResetRequests([unknown]);
    expect(withoutAccount).toEqual({ target_type: 'User', target_id: null, changes: { email: unknown } });
  });

  it("forgets the account's sign-in failures but keeps an administrator lock", async () => {
    const lockedOut = await person(server, 'lockedout');
    const alsoLocked = await person(server, 'adminlocked');
    for (const account of [lockedOut, alsoLocked]) {
      for (let attempt = 0; attempt < LOCKOUT_THRESHOLD; attempt++) await signsIn(account.email, 'a wrong password!');
      expect(errorCode(await server.graphql(LOGIN, { email: account.email, password: MEMBER_PASSWORD }))).toBe(
        'RATE_LIMITED',
      );
    }
    await server.sql(`UPDATE users SET locked_at = now(), lock_reason = 'under review' WHERE id = $1`, [alsoLocked.id]);

    for (const account of [lockedOut, alsoLocked]) {
      const { token } = await requestResetLink(account.email);
      expect((await resetPassword(token, NEW_PASSWORD)).data?.resetPassword).toBe(true);
    }

    expect(await signsIn(lockedOut.email, NEW_PASSWORD)).toBe(true);
    expect(await signsIn(alsoLocked.email, NEW_PASSWORD)).toBe(false);
    const [row] = await server.sql(`SELECT locked_at, lock_reason FROM users WHERE id = $1`, [alsoLocked.id]);
    expect(row.locked_at).not.toBeNull();
    expect(row.lock_reason).toBe('under review');
    // The administrator's lock, not a throttle, is what still refuses it.
    expect(errorCode(await server.graphql(LOGIN, { email: alsoLocked.email, password: NEW_PASSWORD }))).toBe(
      'UNAUTHENTICATED',
    );
  });

  it('retires the other outstanding links of the account', async () => {
    const member = await person(server, 'twolinks');
    const first = await requestResetLink(member.email);
    const second = await requestResetLink(member.email);
    expect(first.token).not.toBe(second.token);
    expect((await resetPassword(second.token, NEW_PASSWORD)).data?.resetPassword).toBe(true);
    expectRefused(await resetPassword(first.token, 'yet another passphrase'), 'password.invalid_reset_token', 'token');
    expect(await signsIn(member.email, NEW_PASSWORD)).toBe(true);
  });

  it('lets exactly one of several concurrent resets with one token succeed', async () => {
    const member = await person(server, 'race');
    const { token } = await requestResetLink(member.email);
    const candidates = Array.from({ length: 8 }, (_, index) => `concurrent passphrase ${index}`);
    const results = await Promise.all(candidates.map((candidate) => resetPassword(token, candidate)));

    const winners = candidates.filter((_, index) => results[index].data?.resetPassword === true);
    expect(winners).toHaveLength(1);
    for (const result of results.filter((response) => response.errors)) {
      expect(result.errors?.[0].extensions?.reason).toBe('password.invalid_reset_token');
    }
    expect(await signsIn(member.email, winners[0])).toBe(true);
    expect(await auditOf(member.id, 'user.password_reset')).toHaveLength(1);
  });
});

describe('setPassword', () => {
  let owner: Person;
  let admin: Person;
  let viewer: Person;
  let orgId: string;

  beforeAll(async () => {
    owner = await person(server, 'setowner');
    orgId = await createOrgAs(server, owner.token, 'Password Org');
    [admin, viewer] = await Promise.all([
      person(server, 'setadmin', { orgId, role: 'admin' }),
      person(server, 'setviewer', { orgId, role: 'viewer' }),
    ]);
  });

  it("lets an owner set a viewer's password, ending the viewer's sessions", async () => {
    const target = await person(server, 'target', { orgId, role: 'viewer' });
    const response = await setPassword(owner.token, target.id, NEW_PASSWORD);
    expect(response.errors).toBeUndefined();
    expect(response.data.setPassword).toBe(true);
    expect(await isSignedIn(target.token)).toBe(false);
    expect(await signsIn(target.email, MEMBER_PASSWORD)).toBe(false);
    expect(await signsIn(target.email, NEW_PASSWORD)).toBe(true);
    const audit = await auditOf(target.id, 'user.password_set');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor_id: owner.id, changes: { sessionsEnded: 1 } });
  });

  it("lets an admin set a lower-ranked member's password but not an owner's", async () => {
    const target = await person(server, 'admintarget', { orgId, role: 'editor' });
    expect((await setPassword(admin.token, target.id, NEW_PASSWORD)).data?.setPassword).toBe(true);

    const before = await passwordHashOf(owner.id);
    const response = await setPassword(admin.token, owner.id, NEW_PASSWORD);
    expect(errorCode(response)).toBe('FORBIDDEN');
    expect(await passwordHashOf(owner.id)).toBe(before);
  });

  it("refuses a viewer on anyone's password", async () => {
    for (const target of [admin, owner]) {
      const before = await passwordHashOf(target.id);
      expect(errorCode(await setPassword(viewer.token, target.id, NEW_PASSWORD))).toBe('FORBIDDEN');
      expect(await passwordHashOf(target.id)).toBe(before);
    }
  });

  it("answers NOT_FOUND for a user outside the caller's orgs, or no user at all", async () => {
    const stranger = await person(server, 'stranger');
    expect(errorCode(await setPassword(owner.token, stranger.id, NEW_PASSWORD))).toBe('NOT_FOUND');
    expect(errorCode(await setPassword(owner.token, 'not-an-id', NEW_PASSWORD))).toBe('NOT_FOUND');
    expect(await signsIn(stranger.email, MEMBER_PASSWORD)).toBe(true);
  });

  it('refuses one’s own password: that is what changePassword is for', async () => {
    const response = await setPassword(owner.token, owner.id, NEW_PASSWORD);
    expect(errorCode(response)).toBe('FORBIDDEN');
    expectRefused(response, 'password.set_own');
  });

  it('applies the password policy, and refuses service accounts and anonymous callers', async () => {
    expectRefused(await setPassword(owner.token, viewer.id, 'qwerty123456'), 'password.too_common', 'password');
    const [robot] = await server.sql(`INSERT INTO users (kind) VALUES ('SERVICE_ACCOUNT') RETURNING id`);
    await addMember(server, orgId, robot.id, 'viewer');
    expectRefused(await setPassword(owner.token, robot.id, NEW_PASSWORD), 'password.service_account', 'userId');
    expect(errorCode(await setPassword(undefined, viewer.id, NEW_PASSWORD))).toBe('UNAUTHENTICATED');
    expect(await signsIn(viewer.email, MEMBER_PASSWORD)).toBe(true);
  });
});

describe('the audit log', () => {
  it('holds every kind of password operation, and no password or token', async () => {
    const rows = await server.sql<{ action: string; entry: string }>(
      `SELECT action, row_to_json(a)::text AS entry FROM audit_logs a WHERE action LIKE 'user.password%'`,
    );
    expect(new Set(rows.map((row) => row.action))).toEqual(
      new Set(['user.password_changed', 'user.password_reset_requested', 'user.password_reset', 'user.password_set']),
    );
    const everything = (await server.sql<{ entry: string }>('SELECT row_to_json(a)::text AS entry FROM audit_logs a'))
      .map((row) => row.entry)
      .join('\n');
    expect(secretsSent.size).toBeGreaterThan(10);
    for (const secret of secretsSent) expect(everything).not.toContain(secret);
  });
});

describe('requestPasswordReset with an SMTP server that never answers', () => {
  let silent: Server;
  const connections = new Set<Socket>();
  let gateway: TestGateway;

  beforeAll(async () => {
    // Accepts connections and says nothing, so a delivery would hang until nodemailer's timeout.
    silent = createServer((socket) => connections.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    gateway = await startTestGateway({ SMTP_URL: `smtp://127.0.0.1:${port}` });
  });

  afterAll(async () => {
    await gateway.close();
    connections.forEach((socket) => socket.destroy());
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  it('answers without waiting for the delivery', async () => {
    const started = Date.now();
    const response = await gateway.graphql(REQUEST_RESET, { email: 'owner@example.com' });
    expect(response.data?.requestPasswordReset).toBe(true);
    expect(Date.now() - started).toBeLessThan(2000);
    const [{ count }] = await gateway.sql('SELECT count(*)::int AS count FROM password_reset_tokens');
    expect(count).toBe(1);
    await waitUntil(() => connections.size > 0);
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
