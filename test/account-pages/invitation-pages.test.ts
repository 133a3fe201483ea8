import { AppError } from '../../src/core/errors/app-error';
import {
  createOrgAs,
  createUser,
  MEMBER_PASSWORD,
  person,
  roleId,
  uniqueEmail,
  type Person,
} from '../support/fixtures';
import { startSmtpSink, tokenFrom, type SmtpSink } from '../support/smtp-sink';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { decode, fieldTexts, formActions, inputs, PageClient, type Page } from './page-client';

let sink: SmtpSink;
let server: TestGateway;
let owner: Person;
let orgId: string;

const NEW_PASSWORD = 'a brand new passphrase';
const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async function inviteToken(email: string, org = orgId): Promise<string> {
  const since = sink.messages.length;
  const response = await server.graphql(
    'mutation ($input: InviteInput!) { invite(input: $input) { id } }',
    { input: { orgId: org, email, roleId: await roleId(server, org, 'editor') } },
    { token: owner.token },
  );
  expect(response.errors).toBeUndefined();
  return tokenFrom(await sink.waitFor(email, since), '/invitations/accept');
}

const acceptPath = (token: string) => `/invitations/accept?token=${encodeURIComponent(token)}`;
const signOutAction = (token: string) => `/sign-out?next=${encodeURIComponent(acceptPath(token))}`;

/** What a page reads as, tags dropped and white space collapsed. */
const textOf = (html: string) => decode(html.replace(/<[^>]*>/g, '')).replace(/\s+/g, ' ');

async function signedInBrowser(email: string): Promise<PageClient> {
  const browser = new PageClient(server.url);
  const signedIn = await browser.submit(await browser.get('/sign-in'), { email, password: MEMBER_PASSWORD });
  expect(signedIn.status).toBe(303);
  return browser;
}

async function openSessions(email: string): Promise<number> {
  const [row] = await server.sql(
    `SELECT count(*)::int AS n FROM sessions s JOIN users u ON u.id = s.user_id
      WHERE lower(u.email) = lower($1) AND s.revoked_at IS NULL`,
    [email],
  );
  return row.n;
}

/**
 * The next acceptance runs for real, then answers as if the token had been spent first: what the
 * second of two submissions that both read the invitation as usable meets.
 */
function firstSubmissionWins() {
  const service = server.gateway.services.invitations;
  const accept = service.accept.bind(service);
  return jest.spyOn(service, 'accept').mockImplementationOnce(async (...args) => {
    await accept(...args);
    throw new AppError('invitation.invalid_token');
  });
}

afterEach(() => jest.restoreAllMocks());

async function membership(email: string, org = orgId) {
  return server.sql(
    `SELECT m.status, r.key FROM memberships m JOIN users u ON u.id = m.user_id JOIN roles r ON r.id = m.role_id
      WHERE lower(u.email) = lower($1) AND m.org_id = $2`,
    [email, org],
  );
}

beforeAll(async () => {
  sink = await startSmtpSink();
  server = await startTestGateway({ SMTP_URL: sink.url });
  owner = await person(server, 'inviter');
  await server.sql(`UPDATE users SET first_name = 'Ines', last_name = 'Inviter' WHERE id = $1`, [owner.id]);
  orgId = await createOrgAs(server, owner.token, 'Page Org');
});

afterAll(async () => {
  await server.close();
  await sink.close();
});

describe('a new account through an emailed invitation', () => {
  it('email → GET (nothing spent) → POST → accepted, signed in by the page session cookie', async () => {
    const email = uniqueEmail('newcomer');
    const token = await inviteToken(email);
    const browser = new PageClient(server.url);

    const offer = await browser.get(acceptPath(token));
    expect(offer.status).toBe(200);
    expect(offer.page).toBe('invitation');
    expect(offer.state).toBe('new-account');
    expect(offer.headers.get('content-security-policy')).toBe(PAGE_CSP);
    expect(offer.headers.get('cache-control')).toBe('no-store');
    // Not no-referrer: under it browsers post forms with `Origin: null`, which is refused.
    expect(offer.headers.get('referrer-policy')).toBe('same-origin');
    expect(offer.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(offer.html).toContain('<html lang="en">');
    expect(offer.html.match(/<h1>/g)).toHaveLength(1);
    expect(fieldTexts(offer.html, 'org-name')).toContain('Page Org');
    expect(fieldTexts(offer.html, 'inviter-name')).toContain('Ines Inviter');
    expect(fieldTexts(offer.html, 'invited-email')).toEqual([email]);
    const fields = Object.fromEntries(inputs(offer.html).map((input) => [input.name, input]));
    expect(fields.firstName.autocomplete).toBe('given-name');
    expect(fields.lastName.autocomplete).toBe('family-name');
    expect(fields.password.autocomplete).toBe('new-password');
    for (const input of inputs(offer.html).filter((input) => input.type !== 'hidden')) {
      expect(offer.html).toContain(`<label for="${input.id}">`);
    }
    expect(offer.html.match(/<button type="submit">/g)).toHaveLength(1);
    // Reading the invitation spends nothing.
    const [pending] = await server.sql('SELECT status, use_count FROM invitations WHERE lower(email) = lower($1)', [
      email,
    ]);
    expect(pending).toEqual({ status: 'PENDING', use_count: 0 });

    const accepted = await browser.submit(offer, { firstName: 'Nora', lastName: 'Newcomer', password: NEW_PASSWORD });
    expect(accepted.status).toBe(200);
    expect(accepted.state).toBe('accepted');
    expect(accepted.html).toContain('role="status"');
    expect(fieldTexts(accepted.html, 'org-name')).toEqual(['Page Org']);
    expect(fieldTexts(accepted.html, 'user-email')).toEqual([email]);

    const sessionCookie = accepted.setCookies.find((line) => line.startsWith('portcullis_account='));
    expect(sessionCookie).toMatch(/HttpOnly/i);
    expect(sessionCookie).toMatch(/Path=\//);
    expect(sessionCookie).toMatch(/Secure/);
    expect(sessionCookie).toMatch(/SameSite=Lax/i);
    expect(Number(/Max-Age=(\d+)/i.exec(sessionCookie as string)?.[1])).toBeGreaterThan(800);
    const me = await server.graphql('{ me { email firstName lastName } }', undefined, {
      token: browser.cookies.get('portcullis_account'),
    });
    expect(me.data.me).toEqual({ email, firstName: 'Nora', lastName: 'Newcomer' });
    expect(await membership(email)).toEqual([{ status: 'ACTIVE', key: 'editor' }]);
    const audit = await server.sql(
      `SELECT a.action FROM audit_logs a JOIN users u ON u.id = a.actor_id WHERE lower(u.email) = lower($1) AND a.action = 'invitation.accepted'`,
      [email],
    );
    expect(audit).toHaveLength(1);
    expect((await server.login(email, NEW_PASSWORD)).accessToken).toBeTruthy();

    // The same link afterwards: used, and said so.
    const again = await new PageClient(server.url).get(acceptPath(token));
    expect(again.status).toBe(410);
    expect(again.state).toBe('used');
    expect(fieldTexts(again.html, 'org-name')).toContain('Page Org');
  });

  it('shows password policy and missing-field problems on their fields, keeping the typed names', async () => {
    const email = uniqueEmail('policy');
    const token = await inviteToken(email);
    const browser = new PageClient(server.url);
    const offer = await browser.get(acceptPath(token));

    const short = await browser.submit(offer, { firstName: 'Pat', lastName: '', password: 'short' });
    expect(short.status).toBe(400);
    expect(short.state).toBe('new-account');
    expect(short.html).toContain('role="alert"');
    expect(short.html).toContain('This field is required');
    const typed = Object.fromEntries(inputs(short.html).map((input) => [input.name, input]));
    expect(typed.firstName.value).toBe('Pat');
    expect(typed.lastName['aria-invalid']).toBe('true');
    expect(typed.lastName['aria-describedby']).toContain('field-lastName-error');

    const tooShort = await browser.submit(short, { firstName: 'Pat', lastName: 'Policy', password: 'short' });
    expect(tooShort.status).toBe(400);
    expect(tooShort.html).toContain('Passwords must be at least 12 characters long');
    const afterShort = Object.fromEntries(inputs(tooShort.html).map((input) => [input.name, input]));
    expect(afterShort.password['aria-invalid']).toBe('true');
    expect(afterShort.password.value).toBeUndefined();
    expect(afterShort.lastName.value).toBe('Policy');

    const common = await browser.submit(tooShort, { firstName: 'Pat', lastName: 'Policy', password: 'password1234' });
    expect(common.status).toBe(400);
    expect(common.html).toContain('This password is too common; choose another');
    expect(await membership(email)).toEqual([]);
  });
});

describe('joining with an existing account', () => {
  it('sign in and join: the invited account enters its password', async () => {
    const email = uniqueEmail('existing');
    await createUser(server, email, { firstName: 'Eve' });
    const token = await inviteToken(email);
    const browser = new PageClient(server.url);
    const offer = await browser.get(acceptPath(token));
    expect(offer.state).toBe('sign-in-to-join');
    const fields = Object.fromEntries(inputs(offer.html).map((input) => [input.name, input]));
    expect(fields.email).toMatchObject({ value: email, readonly: '', autocomplete: 'email' });
    expect(fields.password.autocomplete).toBe('current-password');

    const wrong = await browser.submit(offer, { password: 'not the password at all' });
    expect(wrong.status).toBe(401);
    expect(wrong.state).toBe('sign-in-to-join');
    expect(wrong.html).toContain('Invalid email or password');
    expect(await membership(email)).toEqual([]);

    const joined = await browser.submit(wrong, { password: MEMBER_PASSWORD });
    expect(joined.status).toBe(200);
    expect(joined.state).toBe('accepted');
    expect(await membership(email)).toEqual([{ status: 'ACTIVE', key: 'editor' }]);
    // One session stays: the one the page keeps; the sign-in that led to it ended.
    const sessions = await server.sql(
      `SELECT s.revoked_at IS NULL AS open FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = $1`,
      [email],
    );
    expect(sessions.filter((session) => session.open)).toHaveLength(1);
    const me = await server.graphql('{ me { email } }', undefined, {
      token: browser.cookies.get('portcullis_account'),
    });
    expect(me.data.me.email).toBe(email);
  });

  it('signed in already: "join" as that account; an invitation to someone else says so', async () => {
    const member = await person(server, 'joiner');
    const browser = new PageClient(server.url);
    const signInForm = await browser.get('/sign-in');
    const signedIn = await browser.submit(signInForm, { email: member.email, password: MEMBER_PASSWORD });
    expect(signedIn.status).toBe(303);
    expect(signedIn.location).toBe('/sign-in');

    const otherOrg = await createOrgAs(server, owner.token, 'Second Org');
    const elsewhere = await inviteToken(uniqueEmail('someone-else'), otherOrg);
    const mismatch = await browser.get(acceptPath(elsewhere));
    expect(mismatch.state).toBe('join');
    expect(mismatch.html).toContain('this invitation was sent to');
    expect(mismatch.html).not.toContain('Join Second Org as');
    expect(formActions(mismatch.html)).toEqual([signOutAction(elsewhere)]);

    const token = await inviteToken(member.email);
    const offer = await browser.get(acceptPath(token));
    expect(offer.state).toBe('join');
    expect(fieldTexts(offer.html, 'user-email')).toEqual([member.email]);
    expect(offer.html).toContain(`Join Page Org as ${member.email}`);
    expect(formActions(offer.html)).toEqual([acceptPath(token), signOutAction(token)]);
    const joined = await browser.submit(offer, {}, acceptPath(token));
    expect(joined.state).toBe('accepted');
    expect(await membership(member.email)).toEqual([{ status: 'ACTIVE', key: 'editor' }]);
  });

  it('a link invitation offers a new account with an email field, or signing in first', async () => {
    const response = await server.graphql(
      'mutation ($input: CreateInviteLinkInput!) { createInviteLink(input: $input) { token } }',
      { input: { orgId, roleId: await roleId(server, orgId, 'viewer') } },
      { token: owner.token },
    );
    const token = response.data.createInviteLink.token;
    const browser = new PageClient(server.url);
    const offer = await browser.get(acceptPath(token));
    expect(offer.state).toBe('new-account');
    expect(offer.html).toContain(
      `href="/sign-in?next=${encodeURIComponent(acceptPath(token)).replace(/&/g, '&#38;')}"`,
    );
    const email = uniqueEmail('linked');
    const accepted = await browser.submit(offer, {
      email,
      firstName: 'Lin',
      lastName: 'Ked',
      password: NEW_PASSWORD,
    });
    expect(accepted.state).toBe('accepted');
    expect(await membership(email)).toEqual([{ status: 'ACTIVE', key: 'viewer' }]);
  });
});

describe('an invited account that cannot sign in', () => {
  it('is told so instead of being asked for a password that cannot work', async () => {
    const email = uniqueEmail('locked-out');
    const id = await createUser(server, email);
    const token = await inviteToken(email);
    const browser = new PageClient(server.url);
    const offer = await browser.get(acceptPath(token));
    expect(offer.state).toBe('sign-in-to-join');

    // Locked after the page was read: its form is answered without trying the password.
    await server.sql('UPDATE users SET locked_at = now() WHERE id = $1', [id]);
    const posted = await browser.submit(offer, { password: MEMBER_PASSWORD });
    expect([posted.status, posted.page, posted.state]).toEqual([403, 'invitation', 'account-unavailable']);
    const [failures] = await server.sql(
      `SELECT count(*)::int AS n FROM audit_logs WHERE subject_user_id = $1 AND action = 'session.login_failed'`,
      [id],
    );
    expect(failures.n).toBe(0);
    expect(await openSessions(email)).toBe(0);

    const locked = await browser.get(acceptPath(token));
    expect([locked.status, locked.state]).toEqual([200, 'account-unavailable']);
    expect(textOf(locked.html)).toContain("This account cannot sign in at the moment; ask Page Org's admin");
    expect(inputs(locked.html).filter((input) => input.type !== 'hidden')).toEqual([]);
    expect(fieldTexts(locked.html, 'org-name')).toContain('Page Org');

    await server.sql(`UPDATE users SET locked_at = NULL, status = 'DEACTIVATED' WHERE id = $1`, [id]);
    expect((await browser.get(acceptPath(token))).state).toBe('account-unavailable');
    await server.sql(`UPDATE users SET status = 'ACTIVE' WHERE id = $1`, [id]);
    expect((await browser.get(acceptPath(token))).state).toBe('sign-in-to-join');
    expect(await membership(email)).toEqual([]);
  });
});

describe('the inviter', () => {
  it('is named by name only: a link from an admin without one names nobody, never their address', async () => {
    const email = uniqueEmail('nameless-admin');
    await createUser(server, email);
    const { accessToken } = await server.login(email, MEMBER_PASSWORD);
    const org = await createOrgAs(server, accessToken, 'Nameless Org');
    const response = await server.graphql(
      'mutation ($input: CreateInviteLinkInput!) { createInviteLink(input: $input) { token } }',
      { input: { orgId: org, roleId: await roleId(server, org, 'viewer') } },
      { token: accessToken },
    );
    const token = response.data.createInviteLink.token;
    const page = await new PageClient(server.url).get(acceptPath(token));
    expect(page.state).toBe('new-account');
    expect(fieldTexts(page.html, 'inviter-name')).toEqual([]);
    expect(textOf(page.html)).toContain('You are invited to join Nameless Org');
    expect(page.html.toLowerCase()).not.toContain(email.toLowerCase());
    expect(decode(page.html).toLowerCase()).not.toContain(email.toLowerCase());
  });
});

describe('signing out from an invitation', () => {
  it('comes back to the invitation, now offered to whoever is not signed in', async () => {
    const member = await person(server, 'wrong-person');
    const browser = await signedInBrowser(member.email);
    const invited = uniqueEmail('right-person');
    const token = await inviteToken(invited);
    const mismatch = await browser.get(acceptPath(token));
    expect(mismatch.state).toBe('join');

    const pageSession = browser.cookies.get('portcullis_account');
    expect(formActions(mismatch.html)).toEqual([signOutAction(token)]);
    const out = await browser.submit(mismatch);
    expect([out.status, out.location]).toEqual([303, acceptPath(token)]);
    expect(browser.cookies.has('portcullis_account')).toBe(false);
    const me = await server.graphql('{ me { id } }', undefined, { token: pageSession });
    expect(me.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const back = await browser.get(out.location as string);
    expect([back.status, back.state]).toEqual([200, 'new-account']);
    expect(fieldTexts(back.html, 'invited-email')).toEqual([invited]);

    // The same rules as sign-in's next: another site is never where signing out leads.
    const again = await signedInBrowser(member.email);
    const page = await again.get('/sign-in');
    const foreign = await again.post(`/sign-out?next=${encodeURIComponent('//evil.test/x')}`, {}, { from: page });
    expect([foreign.status, foreign.state, foreign.location]).toEqual([200, 'form', null]);
  });
});

describe('a form submitted twice', () => {
  const expectAccepted = (page: Page, email: string) => {
    expect([page.status, page.page, page.state]).toEqual([200, 'invitation', 'accepted']);
    expect(fieldTexts(page.html, 'user-email')).toEqual([email]);
  };

  it('join: the second submission, after the first joined, shows it accepted', async () => {
    const member = await person(server, 'double-join');
    const browser = await signedInBrowser(member.email);
    const token = await inviteToken(member.email);
    const offer = await browser.get(acceptPath(token));
    expectAccepted(await browser.submit(offer, {}, acceptPath(token)), member.email);
    expectAccepted(await browser.submit(offer, {}, acceptPath(token)), member.email);

    // Anyone else posting the spent link still learns it was used.
    const stranger = new PageClient(server.url);
    const strangerPost = await stranger.post(acceptPath(token), {}, { from: await stranger.get('/sign-in') });
    expect([strangerPost.status, strangerPost.state]).toEqual([410, 'used']);
    expect(textOf(strangerPost.html)).toContain('If you just submitted this form, you may have joined already');
  });

  it('join: both submissions read the invitation as usable; the one that lost the race shows it accepted', async () => {
    const member = await person(server, 'race-join');
    const browser = await signedInBrowser(member.email);
    const token = await inviteToken(member.email);
    const offer = await browser.get(acceptPath(token));
    firstSubmissionWins();
    expectAccepted(await browser.submit(offer, {}, acceptPath(token)), member.email);
    expect(await membership(member.email)).toEqual([{ status: 'ACTIVE', key: 'editor' }]);
  });

  it('sign in and join: the losing submission keeps its sign-in and shows it accepted', async () => {
    const email = uniqueEmail('race-sign-in');
    await createUser(server, email);
    const token = await inviteToken(email);
    const browser = new PageClient(server.url);
    const offer = await browser.get(acceptPath(token));
    expect(offer.state).toBe('sign-in-to-join');
    firstSubmissionWins();
    const answer = await browser.submit(offer, { password: MEMBER_PASSWORD });
    expectAccepted(answer, email);
    const me = await server.graphql('{ me { email } }', undefined, {
      token: browser.cookies.get('portcullis_account'),
    });
    expect(me.data.me.email).toBe(email);
  });
});

describe('a sign-in to join that cannot join', () => {
  it('ends the session it started when the token was spent by someone else meanwhile', async () => {
    const email = uniqueEmail('too-late');
    await createUser(server, email);
    const token = await inviteToken(email);
    const browser = new PageClient(server.url);
    const offer = await browser.get(acceptPath(token));
    jest
      .spyOn(server.gateway.services.invitations, 'accept')
      .mockRejectedValueOnce(new AppError('invitation.invalid_token'));
    const answer = await browser.submit(offer, { password: MEMBER_PASSWORD });
    expect([answer.status, answer.state]).toEqual([410, 'used']);
    expect(answer.setCookies.some((line) => line.startsWith('portcullis_account='))).toBe(false);
    expect(await openSessions(email)).toBe(0);
    expect(await membership(email)).toEqual([]);
  });

  it('ends it when accepting fails for a reason of ours', async () => {
    const email = uniqueEmail('fault');
    await createUser(server, email);
    const token = await inviteToken(email);
    const browser = new PageClient(server.url);
    const offer = await browser.get(acceptPath(token));
    jest.spyOn(server.gateway.services.invitations, 'accept').mockRejectedValueOnce(new Error('lost connection'));
    const answer = await browser.submit(offer, { password: MEMBER_PASSWORD });
    expect([answer.status, answer.page, answer.state]).toEqual([500, 'error', 'failed']);
    expect(browser.cookies.has('portcullis_account')).toBe(false);
    expect(await openSessions(email)).toBe(0);
    const [ended] = await server.sql(
      `SELECT count(*)::int AS n FROM audit_logs a JOIN users u ON u.id = a.subject_user_id
        WHERE lower(u.email) = lower($1) AND a.action IN ('session.revoked', 'session.logout')`,
      [email],
    );
    expect(ended.n).toBe(1);
  });
});

describe('links that no longer work', () => {
  it('expired, revoked and unknown tokens answer their state and status', async () => {
    const expiredEmail = uniqueEmail('late');
    const expired = await inviteToken(expiredEmail);
    await server.sql(`UPDATE invitations SET expires_at = now() - interval '1 minute' WHERE lower(email) = lower($1)`, [
      expiredEmail,
    ]);
    const expiredPage = await new PageClient(server.url).get(acceptPath(expired));
    expect([expiredPage.status, expiredPage.state]).toEqual([410, 'expired']);
    expect(expiredPage.html).toContain('for a new invitation');

    const revokedEmail = uniqueEmail('withdrawn');
    const revoked = await inviteToken(revokedEmail);
    const [row] = await server.sql('SELECT id FROM invitations WHERE lower(email) = lower($1)', [revokedEmail]);
    const revocation = await server.graphql(
      'mutation ($id: ID!) { revokeInvitation(id: $id) { id } }',
      { id: row.id },
      {
        token: owner.token,
      },
    );
    expect(revocation.errors).toBeUndefined();
    const revokedPage = await new PageClient(server.url).get(acceptPath(revoked));
    expect([revokedPage.status, revokedPage.state]).toEqual([410, 'revoked']);

    for (const path of [acceptPath('no-such-token'), '/invitations/accept']) {
      const unknown = await new PageClient(server.url).get(path);
      expect([unknown.status, unknown.page, unknown.state]).toEqual([404, 'invitation', 'invalid']);
      expect(unknown.headers.get('content-type')).toBe('text/html; charset=utf-8');
    }
  });
});

describe('forgery', () => {
  it('a POST without the CSRF token, or from another origin, is refused with 403 and changes nothing', async () => {
    const email = uniqueEmail('forged');
    const token = await inviteToken(email);
    const browser = new PageClient(server.url);
    const offer = await browser.get(acceptPath(token));
    const fields = { firstName: 'For', lastName: 'Ged', password: NEW_PASSWORD };

    const noToken = await browser.post(acceptPath(token), fields);
    expect([noToken.status, noToken.page, noToken.state]).toEqual([403, 'error', 'forbidden']);
    const wrongToken = await browser.post(acceptPath(token), { ...fields, _csrf: 'forged-token' });
    expect(wrongToken.status).toBe(403);
    const foreign = await browser.post(acceptPath(token), fields, {
      from: offer,
      headers: { origin: 'http://evil.test' },
    });
    expect([foreign.status, foreign.state]).toEqual([403, 'forbidden']);
    const noSecret = await new PageClient(server.url).post(acceptPath(token), fields, { from: offer });
    expect(noSecret.status).toBe(403);
    expect(await membership(email)).toEqual([]);
    expect(await server.sql('SELECT 1 FROM users WHERE lower(email) = lower($1)', [email])).toEqual([]);

    // The same form from the gateway's own origin goes through.
    const own = await browser.post(acceptPath(token), fields, {
      from: offer,
      headers: { origin: 'http://portcullis.test' },
    });
    expect(own.state).toBe('accepted');
  });

  it('takes the origin the browser addressed as the gateway’s own, and no other port of that host', async () => {
    // Reached at 127.0.0.1:<port> while PUBLIC_URL says http://portcullis.test.
    const addressed = new URL(server.url);
    const token = await inviteToken(uniqueEmail('addressed'));
    const browser = new PageClient(server.url);
    const offer = await browser.get(acceptPath(token));
    const fields = { firstName: 'Add', lastName: 'Ressed', password: NEW_PASSWORD };
    const otherPort = `${addressed.protocol}//${addressed.hostname}:${Number(addressed.port) + 1}`;
    const refused = await browser.post(acceptPath(token), fields, { from: offer, headers: { origin: otherPort } });
    expect([refused.status, refused.state]).toEqual([403, 'forbidden']);
    const accepted = await browser.post(acceptPath(token), fields, {
      from: offer,
      headers: { origin: addressed.origin },
    });
    expect(accepted.state).toBe('accepted');
  });
});

describe('escaping', () => {
  it('an org named like markup is shown as text', async () => {
    const evilOrg = await createOrgAs(server, owner.token, '<script>alert(1)</script>');
    const token = await inviteToken(uniqueEmail('escaped'), evilOrg);
    const page = await new PageClient(server.url).get(acceptPath(token));
    expect(page.status).toBe(200);
    expect(page.html).not.toContain('<script>alert(1)</script>');
    expect(page.html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(fieldTexts(page.html, 'org-name')).toContain('<script>alert(1)</script>');
    expect(page.html).not.toMatch(/<script(?! src="\/account\/assets\/)/);
  });
});
