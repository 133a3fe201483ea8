import type { ParsedMail } from 'mailparser';
import { createOrgAs, MEMBER_PASSWORD, person, roleId, type Person } from '../support/fixtures';
import { startSmtpSink, tokenFrom, type SmtpSink } from '../support/smtp-sink';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

/**
 * Every emailed link opens `<ACCOUNT_LINKS_BASE_URL><page>?token=…` (PUBLIC_URL by default), and
 * the messages say in words which org they are about and until when their link works.
 */

const INVITE = `mutation ($input: InviteInput!) { invite(input: $input) { expiresAt } }`;
const LINK = `mutation ($input: CreateInviteLinkInput!) { createInviteLink(input: $input) { url token } }`;
const REQUEST_RESET = 'mutation ($email: String!) { requestPasswordReset(email: $email) }';
const RESET = 'mutation ($token: String!, $next: String!) { resetPassword(token: $token, newPassword: $next) }';
const REQUEST_VERIFICATION = 'mutation { requestEmailVerification }';
const CHANGE_EMAIL =
  'mutation ($newEmail: String!, $password: String!) { changeEmail(newEmail: $newEmail, password: $password) }';
const VERIFY = 'mutation ($token: String!) { verifyEmail(token: $token) }';

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = 'January February March April May June July August September October November December'.split(' ');

/** The expiry as the mails must write it, computed apart from the code under test. */
function clearTime(iso: string | Date): string {
  const date = new Date(iso);
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${WEEKDAYS[date.getUTCDay()]} ${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()}, ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())} UTC`;
}

/** `<base><page>?token=…` and nothing else. */
function linkTo(base: string, page: string): RegExp {
  return new RegExp(`^${`${base}${page}`.replace(/[.?]/g, '\\$&')}\\?token=[\\w-]+$`);
}

/** The link to `page` in both parts of a message: the text's, and the HTML's button. */
function linkIn(mail: ParsedMail, page: string): string {
  const token = tokenFrom(mail, page);
  const link = /(https?:\/\/\S+)\?token=/.exec(mail.text ?? '')?.[1];
  expect(mail.html).toContain(`href="${link}?token=${token}"`);
  return `${link}?token=${token}`;
}

let sink: SmtpSink;

beforeAll(async () => {
  sink = await startSmtpSink();
});

afterAll(async () => {
  await sink.close();
});

describe.each([
  ['PUBLIC_URL by default', {}, 'http://portcullis.test'],
  ['ACCOUNT_LINKS_BASE_URL', { ACCOUNT_LINKS_BASE_URL: 'https://app.example.com/' }, 'https://app.example.com'],
  [
    'ACCOUNT_LINKS_BASE_URL with a path',
    { ACCOUNT_LINKS_BASE_URL: 'https://app.example.com/account' },
    'https://app.example.com/account',
  ],
])('links to %s', (_label, env: Record<string, string>, base) => {
  let server: TestGateway;
  let owner: Person;
  let orgId: string;

  beforeAll(async () => {
    server = await startTestGateway({
      SMTP_URL: sink.url,
      // Every request here comes from one address; test/rate-limits covers the limits.
      RATE_LIMIT_RESET_REQUEST_PER_IP: '1000/1h',
      RATE_LIMIT_EMAIL_VERIFICATION_PER_IP: '1000/1h',
      RATE_LIMIT_CHANGE_EMAIL_PER_IP: '1000/1h',
      ...env,
    });
    owner = await person(server, 'owner');
    await server.sql(`UPDATE users SET first_name = 'Ines', last_name = 'Inviter' WHERE id = $1`, [owner.id]);
    orgId = await createOrgAs(server, owner.token, 'Linked Org');
  });

  afterAll(async () => {
    await server.close();
  });

  it('invitation: text and HTML parts naming the org, the inviter, the role and the expiry', async () => {
    const since = sink.messages.length;
    const invited = await server.graphql(
      INVITE,
      { input: { orgId, email: 'invitee@example.com', roleId: await roleId(server, orgId, 'editor') } },
      { token: owner.token },
    );
    expect(invited.errors).toBeUndefined();
    const mail = await sink.waitFor('invitee@example.com', since);

    expect(linkIn(mail, '/invitations/accept')).toMatch(linkTo(base, '/invitations/accept'));
    expect(mail.text).toContain('Ines Inviter invited you to join Linked Org');
    expect(mail.text).toContain('with the role Editor');
    expect(mail.text).toContain(`expires on ${clearTime(invited.data.invite.expiresAt)} (it is valid for 7 days)`);
    expect(mail.html).toContain('<strong>Linked Org</strong>');
    expect(mail.html).toContain(`<strong>${clearTime(invited.data.invite.expiresAt)}</strong>`);
    // multipart/alternative: a reader without HTML gets the text part.
    expect(mail.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' });
  });

  it("createInviteLink's url opens the same page", async () => {
    const created = await server.graphql(
      LINK,
      { input: { orgId, roleId: await roleId(server, orgId, 'viewer') } },
      { token: owner.token },
    );
    expect(created.errors).toBeUndefined();
    const { url, token } = created.data.createInviteLink;
    expect(url).toBe(`${base}/invitations/accept?token=${token}`);
  });

  it('password reset: the link works, and the text names the account, its org and the expiry', async () => {
    const member = await person(server, 'resetter');
    await server.sql('UPDATE users SET default_org_id = $1 WHERE id = $2', [orgId, member.id]);
    const since = sink.messages.length;
    expect((await server.graphql(REQUEST_RESET, { email: member.email })).data?.requestPasswordReset).toBe(true);
    const mail = await sink.waitFor(member.email, since);

    const link = linkIn(mail, '/password/reset');
    expect(link).toMatch(linkTo(base, '/password/reset'));
    const [stored] = await server.sql(
      `SELECT expires_at FROM password_reset_tokens t JOIN users u ON u.id = t.user_id WHERE u.id = $1`,
      [member.id],
    );
    expect(mail.text).toContain(`account ${member.email} (Linked Org)`);
    expect(mail.text).toContain(`until ${clearTime(stored.expires_at)} (within 1 hour)`);
    const token = new URL(link).searchParams.get('token');
    expect((await server.graphql(RESET, { token, next: 'a new passphrase 456' })).data?.resetPassword).toBe(true);
  });

  it('email verification and email change confirmation: links to /email/verify that work', async () => {
    const member = await person(server, 'verifier');
    let since = sink.messages.length;
    expect(
      (await server.graphql(REQUEST_VERIFICATION, {}, { token: member.token })).data?.requestEmailVerification,
    ).toBe(true);
    const verification = await sink.waitFor(member.email, since);
    const verifyLink = linkIn(verification, '/email/verify');
    expect(verifyLink).toMatch(linkTo(base, '/email/verify'));
    expect(verification.text).toContain('(within 24 hours)');
    expect((await server.graphql(VERIFY, { token: new URL(verifyLink).searchParams.get('token') })).data).toEqual({
      verifyEmail: true,
    });

    const newEmail = `moved.${member.email}`;
    since = sink.messages.length;
    const changed = await server.graphql(
      CHANGE_EMAIL,
      { newEmail, password: MEMBER_PASSWORD },
      { token: member.token },
    );
    expect(changed.errors).toBeUndefined();
    const confirmation = await sink.waitFor(newEmail, since);
    const confirmLink = linkIn(confirmation, '/email/verify');
    expect(confirmLink).toMatch(linkTo(base, '/email/verify'));

    since = sink.messages.length;
    expect((await server.graphql(VERIFY, { token: new URL(confirmLink).searchParams.get('token') })).data).toEqual({
      verifyEmail: true,
    });
    const notice = await sink.waitFor(member.email, since);
    expect(notice.subject).toBe('Your Portcullis email address was changed');
    expect(notice.text).toContain(`from this address, ${member.email}, to ${newEmail}`);
    expect(notice.text).not.toContain('token=');
  });
});
