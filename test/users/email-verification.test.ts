import { createHash } from 'node:crypto';
import { person, type Person } from '../support/fixtures';
import { errorCode, type GraphQLResponse } from '../support/graphql-client';
import { startSmtpSink, tokenFrom, type SmtpSink } from '../support/smtp-sink';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

const REQUEST = 'mutation { requestEmailVerification }';
const VERIFY = 'mutation ($token: String!) { verifyEmail(token: $token) }';
const ME = '{ me { id email emailVerifiedAt } }';
const ACCOUNT_LIMIT = 3;

let server: TestGateway;
let sink: SmtpSink;

beforeAll(async () => {
  sink = await startSmtpSink();
  server = await startTestGateway({
    SMTP_URL: sink.url,
    EMAIL_VERIFICATION_TTL: '2h',
    RATE_LIMIT_EMAIL_VERIFICATION_PER_ACCOUNT: `${ACCOUNT_LIMIT}/1h`,
    // Every test here comes from one address; test/rate-limits covers per-address limits.
    RATE_LIMIT_EMAIL_VERIFICATION_PER_IP: '1000/1h',
    RATE_LIMIT_VERIFY_EMAIL_PER_IP: '1000/15m',
  });
});

afterAll(async () => {
  await server.close();
  await sink.close();
});

/** Asks for a link as `member` and returns the token the mail to their address carries. */
async function requestLink(member: Person): Promise<string> {
  const since = sink.messages.length;
  const response = await server.graphql(REQUEST, {}, { token: member.token });
  expect(response.errors).toBeUndefined();
  expect(response.data?.requestEmailVerification).toBe(true);
  return tokenFrom(await sink.waitFor(member.email, since), '/email/verify');
}

const verify = (token: string, accessToken?: string) => server.graphql(VERIFY, { token }, { token: accessToken });

async function verifiedAt(member: Person): Promise<string | null> {
  return (await server.graphql(ME, {}, { token: member.token })).data.me.emailVerifiedAt;
}

function expectInvalidLink(response: GraphQLResponse) {
  expect(response.data ?? null).toBeNull();
  expect(errorCode(response)).toBe('BAD_USER_INPUT');
  expect(response.errors?.[0].extensions).toMatchObject({ reason: 'email.verification_invalid', field: 'token' });
}

it('mails a link to the account address; following it, signed in or not, verifies the address', async () => {
  const member = await person(server, 'verifier');
  expect(await verifiedAt(member)).toBeNull();
  const since = sink.messages.length;
  const token = await requestLink(member);
  const mail = sink.messages.slice(since).find((message) => message.text?.includes(token));
  expect(mail?.subject).toBe('Verify your Portcullis email address');
  expect(mail?.text).toContain(`http://portcullis.test/email/verify?token=${token}`);

  const response = await verify(token);
  expect(response.errors).toBeUndefined();
  expect(response.data?.verifyEmail).toBe(true);
  expect(await verifiedAt(member)).not.toBeNull();
});

it('stores only the SHA-256 of the token, valid for EMAIL_VERIFICATION_TTL', async () => {
  const member = await person(server, 'hashed');
  const token = await requestLink(member);
  const rows = await server.sql(
    `SELECT token_hash, new_email, extract(epoch FROM expires_at - created_at) AS seconds
       FROM email_verification_tokens WHERE user_id = $1`,
    [member.id],
  );
  expect(rows).toHaveLength(1);
  expect(Buffer.from(rows[0].token_hash).equals(createHash('sha256').update(token).digest())).toBe(true);
  expect(rows[0].new_email).toBeNull();
  expect(Math.round(Number(rows[0].seconds))).toBe(2 * 3600);
});

it('a link works once: used, expired and unknown tokens fail alike', async () => {
  const member = await person(server, 'single');
  const token = await requestLink(member);
  expect((await verify(token)).data?.verifyEmail).toBe(true);
  expectInvalidLink(await verify(token));

  const other = await person(server, 'expiring');
  const stale = await requestLink(other);
  await server.sql(`UPDATE email_verification_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [
    other.id,
  ]);
  expectInvalidLink(await verify(stale));
  expect(await verifiedAt(other)).toBeNull();

  expectInvalidLink(await verify('not-a-token-anyone-was-sent'));
});

it('concurrent redemptions of one token: exactly one succeeds, and one event is audited', async () => {
  const member = await person(server, 'racer');
  const token = await requestLink(member);
  const responses = await Promise.all(Array.from({ length: 6 }, () => verify(token)));
  expect(responses.filter((response) => response.data?.verifyEmail === true)).toHaveLength(1);
  for (const response of responses.filter((candidate) => candidate.errors)) expectInvalidLink(response);
  const events = await server.sql(
    `SELECT id FROM audit_logs WHERE action = 'user.email_verified' AND target_id = $1 AND org_id IS NULL`,
    [member.id],
  );
  expect(events).toHaveLength(1);
});

it('an address already verified: answers true and mails nothing', async () => {
  const member = await person(server, 'already');
  await server.sql('UPDATE users SET email_verified_at = now() WHERE id = $1', [member.id]);
  const response = await server.graphql(REQUEST, {}, { token: member.token });
  expect(response.data?.requestEmailVerification).toBe(true);
  const tokens = await server.sql('SELECT 1 FROM email_verification_tokens WHERE user_id = $1', [member.id]);
  expect(tokens).toHaveLength(0);
  const [event] = await server.sql(
    `SELECT changes FROM audit_logs WHERE action = 'user.email_verification_requested' AND target_id = $1 AND org_id IS NULL`,
    [member.id],
  );
  expect(event.changes).toMatchObject({ sent: false });
});

it('audits requests and verifications as account events, never with the token', async () => {
  const member = await person(server, 'audited');
  const token = await requestLink(member);
  await verify(token);
  const events = await server.sql(
    `SELECT action, actor_id, subject_user_id, changes FROM audit_logs
      WHERE target_id = $1 AND org_id IS NULL AND action LIKE 'user.email_%' ORDER BY seq`,
    [member.id],
  );
  expect(events.map((event) => event.action)).toEqual(['user.email_verification_requested', 'user.email_verified']);
  for (const event of events) {
    expect(event.subject_user_id).toBe(member.id);
    expect(event.actor_id).toBe(member.id);
    // Addresses sit under `email`, the key the audit log seals (or keeps, when unsealed).
    expect(event.changes).toHaveProperty('email');
    expect(JSON.stringify(event.changes)).not.toContain(token);
  }
});

it('needs a signed-in person: anonymous callers are refused', async () => {
  expect(errorCode(await server.graphql(REQUEST))).toBe('UNAUTHENTICATED');
});

it('limits requests per account: RATE_LIMITED past RATE_LIMIT_EMAIL_VERIFICATION_PER_ACCOUNT', async () => {
  const member = await person(server, 'limited');
  for (let attempt = 0; attempt < ACCOUNT_LIMIT; attempt++) {
    expect((await server.graphql(REQUEST, {}, { token: member.token })).data?.requestEmailVerification).toBe(true);
  }
  const refused = await server.graphql(REQUEST, {}, { token: member.token });
  expect(errorCode(refused)).toBe('RATE_LIMITED');
  expect(refused.errors?.[0].extensions?.retryAfter).toBeGreaterThan(0);
});
