import { createUser, MEMBER_PASSWORD, person, uniqueEmail, type Person } from '../support/fixtures';
import { errorCode, type GraphQLResponse } from '../support/graphql-client';
import { startSmtpSink, tokenFrom, type SmtpSink } from '../support/smtp-sink';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

const CHANGE =
  'mutation ($newEmail: String!, $password: String!) { changeEmail(newEmail: $newEmail, password: $password) }';
const VERIFY = 'mutation ($token: String!) { verifyEmail(token: $token) }';
const REQUEST_VERIFICATION = 'mutation { requestEmailVerification }';
const REQUEST_RESET = 'mutation ($email: String!) { requestPasswordReset(email: $email) }';
const RESET = 'mutation ($token: String!, $next: String!) { resetPassword(token: $token, newPassword: $next) }';
const LOGIN =
  'mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }';
const ME = '{ me { email emailVerifiedAt } }';
const MAILS_PER_ADDRESS = 2;

let server: TestGateway;
let sink: SmtpSink;

beforeAll(async () => {
  sink = await startSmtpSink();
  server = await startTestGateway({
    SMTP_URL: sink.url,
    RATE_LIMIT_VERIFICATION_MAIL_PER_EMAIL: `${MAILS_PER_ADDRESS}/1h`,
    // Every test here comes from one address; test/rate-limits covers per-address limits.
    RATE_LIMIT_CHANGE_EMAIL_PER_IP: '1000/1h',
    RATE_LIMIT_EMAIL_VERIFICATION_PER_IP: '1000/1h',
    RATE_LIMIT_VERIFY_EMAIL_PER_IP: '1000/15m',
  });
});

afterAll(async () => {
  await server.close();
  await sink.close();
});

const changeEmail = (member: Person, newEmail: string, password = MEMBER_PASSWORD) =>
  server.graphql(CHANGE, { newEmail, password }, { token: member.token });

const verify = (token: string) => server.graphql(VERIFY, { token });

/** Asks to move `member` to `newEmail` and returns the token of the link mailed there. */
async function requestChange(member: Person, newEmail: string): Promise<string> {
  const since = sink.messages.length;
  const response = await changeEmail(member, newEmail);
  expect(response.errors).toBeUndefined();
  expect(response.data?.changeEmail).toBe(true);
  return tokenFrom(await sink.waitFor(newEmail, since), '/email/verify');
}

async function me(member: Person) {
  return (await server.graphql(ME, {}, { token: member.token })).data.me;
}

async function signsIn(email: string): Promise<boolean> {
  return Boolean((await server.graphql(LOGIN, { email, password: MEMBER_PASSWORD })).data?.login);
}

function expectRefused(response: GraphQLResponse, code: string, reason: string) {
  expect(response.data ?? null).toBeNull();
  expect(errorCode(response)).toBe(code);
  expect(response.errors?.[0].extensions?.reason).toBe(reason);
}

it('refuses a wrong password as changePassword does, issuing and mailing nothing', async () => {
  const member = await person(server, 'wrongpass');
  const response = await changeEmail(member, uniqueEmail('nowhere'), 'not my password at all');
  expectRefused(response, 'BAD_USER_INPUT', 'password.incorrect');
  expect(response.errors?.[0].extensions?.field).toBe('password');
  expect(await server.sql('SELECT 1 FROM email_verification_tokens WHERE user_id = $1', [member.id])).toHaveLength(0);
});

it('refuses a malformed address', async () => {
  const member = await person(server, 'malformed');
  expect(errorCode(await changeEmail(member, 'not an email'))).toBe('BAD_USER_INPUT');
});

it('switches only when the link mailed to the new address is followed; the old address is told', async () => {
  const member = await person(server, 'mover');
  const newEmail = uniqueEmail('moved');
  const token = await requestChange(member, newEmail);
  expect(await me(member)).toMatchObject({ email: member.email, emailVerifiedAt: null });
  expect(await signsIn(member.email)).toBe(true);
  expect(await signsIn(newEmail)).toBe(false);

  const since = sink.messages.length;
  const response = await verify(token);
  expect(response.errors).toBeUndefined();
  expect(response.data?.verifyEmail).toBe(true);
  const after = await me(member);
  expect(after.email).toBe(newEmail);
  expect(after.emailVerifiedAt).not.toBeNull();
  expect(await signsIn(newEmail)).toBe(true);
  expect(await signsIn(member.email)).toBe(false);

  const notice = await sink.waitFor(member.email, since);
  expect(notice.subject).toBe('Your Portcullis email address was changed');
  expect(notice.text).toContain(newEmail);
  expect(notice.text).not.toContain(token);
  // The link is single-use.
  expectRefused(await verify(token), 'BAD_USER_INPUT', 'email.verification_invalid');
});

it('answers true whether or not the address is taken, and refuses the switch with CONFLICT if it got taken', async () => {
  const member = await person(server, 'contender');
  const holder = await person(server, 'holder');
  expect((await changeEmail(member, holder.email)).data?.changeEmail).toBe(true);

  const wanted = uniqueEmail('wanted');
  const token = await requestChange(member, wanted);
  await createUser(server, wanted.toUpperCase());
  expectRefused(await verify(token), 'CONFLICT', 'user.email_in_use');
  expect((await me(member)).email).toBe(member.email);
  expect(await signsIn(member.email)).toBe(true);
});

it('after the switch, pending password resets and other links of the account stop working', async () => {
  const member = await person(server, 'retiring');
  const resetSince = sink.messages.length;
  await server.graphql(REQUEST_RESET, { email: member.email });
  const resetToken = tokenFrom(await sink.waitFor(member.email, resetSince), '/password/reset');
  const verifySince = sink.messages.length;
  await server.graphql(REQUEST_VERIFICATION, {}, { token: member.token });
  const oldAddressToken = tokenFrom(await sink.waitFor(member.email, verifySince), '/email/verify');

  const first = await requestChange(member, uniqueEmail('first'));
  const newEmail = uniqueEmail('second');
  const second = await requestChange(member, newEmail);
  // Only the latest address asked for can be confirmed.
  expectRefused(await verify(first), 'BAD_USER_INPUT', 'email.verification_invalid');
  expect((await verify(second)).data?.verifyEmail).toBe(true);
  expect((await me(member)).email).toBe(newEmail);

  expectRefused(await verify(oldAddressToken), 'BAD_USER_INPUT', 'email.verification_invalid');
  expectRefused(
    await server.graphql(RESET, { token: resetToken, next: 'a brand new passphrase' }),
    'BAD_USER_INPUT',
    'password.invalid_reset_token',
  );
});

it('audits the request and the switch as account events with both addresses, never the token', async () => {
  const member = await person(server, 'auditmove');
  const token = await requestChange(member, uniqueEmail('audited'));
  await verify(token);
  const events = await server.sql(
    `SELECT action, subject_user_id, changes FROM audit_logs
      WHERE target_id = $1 AND org_id IS NULL AND action LIKE 'user.email_%' ORDER BY seq`,
    [member.id],
  );
  expect(events.map((event) => event.action)).toEqual(['user.email_change_requested', 'user.email_changed']);
  expect(events[0].changes).toHaveProperty('newEmail');
  expect(events[1].changes).toHaveProperty('oldEmail');
  expect(events[1].changes).toHaveProperty('newEmail');
  for (const event of events) {
    expect(event.subject_user_id).toBe(member.id);
    expect(JSON.stringify(event.changes)).not.toContain(token);
  }
});

it('limits mails per destination address, whoever asks: RATE_LIMITED past RATE_LIMIT_VERIFICATION_MAIL_PER_EMAIL', async () => {
  const target = uniqueEmail('bombed');
  for (let attempt = 0; attempt < MAILS_PER_ADDRESS; attempt++) {
    const asker = await person(server, 'asker');
    expect((await changeEmail(asker, target)).data?.changeEmail).toBe(true);
  }
  const refused = await changeEmail(await person(server, 'asker'), target.toUpperCase());
  expect(errorCode(refused)).toBe('RATE_LIMITED');
});

it("does not let others' changeEmail requests use up an address owner's own verification mails", async () => {
  const victim = await person(server, 'victim');
  for (let attempt = 0; attempt < MAILS_PER_ADDRESS; attempt++) {
    await changeEmail(await person(server, 'squatter'), victim.email);
  }
  expect(errorCode(await changeEmail(await person(server, 'squatter'), victim.email))).toBe('RATE_LIMITED');
  const own = await server.graphql('mutation { requestEmailVerification }', {}, { token: victim.token });
  expect(own.errors).toBeUndefined();
  expect(own.data.requestEmailVerification).toBe(true);
});

it('needs a signed-in person', async () => {
  expect(errorCode(await server.graphql(CHANGE, { newEmail: uniqueEmail('anon'), password: 'whatever' }))).toBe(
    'UNAUTHENTICATED',
  );
});
