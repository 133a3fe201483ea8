import type { ParsedMail } from 'mailparser';
import type { HTTPResponse, Page } from 'puppeteer-core';
import { accountPage, launchBrowser, startLocalhostGateway, statusOf, type TestBrowser } from '../support/browser';
import { addMember, createUser, MEMBER_PASSWORD, person, roleId, uniqueEmail } from '../support/fixtures';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink';
import type { TestGateway } from '../support/test-gateway';

jest.setTimeout(90_000);

const INVITE = `mutation ($input: InviteInput!) { invite(input: $input) { id } }`;
const REVOKE = `mutation ($id: ID!) { revokeInvitation(id: $id) { status } }`;
const REQUEST_RESET = 'mutation ($email: String!) { requestPasswordReset(email: $email) }';
const RESET = 'mutation ($token: String!, $next: String!) { resetPassword(token: $token, newPassword: $next) }';
const REQUEST_VERIFICATION = 'mutation { requestEmailVerification }';
const NEW_PASSWORD = 'a fresh passphrase from the browser';

let sink: SmtpSink;
let server: TestGateway;
let origin: string;
let browser: TestBrowser;
let ownerToken: string;
let orgId: string;

beforeAll(async () => {
  sink = await startSmtpSink();
  ({ server, origin } = await startLocalhostGateway({ SMTP_URL: sink.url }));
  browser = await launchBrowser('account-pages');
  ownerToken = (await server.login()).accessToken;
  [{ id: orgId }] = await server.sql(`SELECT id FROM orgs WHERE name = 'Acme'`);
  await server.sql(`UPDATE users SET first_name = 'Olivia', last_name = 'Owner' WHERE email = 'owner@example.com'`);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await sink?.close();
});

/** The whole emailed link to `path`, from the text part: what a person would click. */
function linkFrom(mail: ParsedMail, path: string): string {
  const match = new RegExp(`https?://\\S+${path.replace(/[/?]/g, '\\$&')}\\?token=[A-Za-z0-9_-]+`).exec(
    mail.text ?? '',
  );
  if (!match) throw new Error(`no ${path} link in: ${mail.text}`);
  return match[0];
}

async function inviteByEmail(email: string): Promise<{ id: string; link: string }> {
  const since = sink.messages.length;
  const response = await server.graphql(
    INVITE,
    { input: { orgId, email, roleId: await roleId(server, orgId, 'editor') } },
    { token: ownerToken },
  );
  expect(response.errors).toBeUndefined();
  const mail = await sink.waitFor(email, since);
  return { id: response.data.invite.id, link: linkFrom(mail, '/invitations/accept') };
}

async function resetLinkFor(email: string): Promise<string> {
  const since = sink.messages.length;
  expect((await server.graphql(REQUEST_RESET, { email })).data?.requestPasswordReset).toBe(true);
  return linkFrom(await sink.waitFor(email, since), '/password/reset');
}

async function member(name: string): Promise<string> {
  const email = uniqueEmail(name);
  await addMember(server, orgId, await createUser(server, email, { firstName: name }), 'editor');
  return email;
}

/** Types into the named fields, then submits their form and waits for the page it leads to. */
async function submitForm(page: Page, fields: Record<string, string>): Promise<HTTPResponse | null> {
  for (const [name, value] of Object.entries(fields)) {
    await page.type(`main#main [name="${name}"]`, value);
  }
  const form = `main#main form:has([name="${Object.keys(fields)[0]}"])`;
  const [response] = await Promise.all([page.waitForNavigation(), page.click(`${form} button[type=submit]`)]);
  return response;
}

const textOf = (page: Page, selector: string) => page.$eval(selector, (element) => element.textContent ?? '');

function expectNoPageProblems(page: Page) {
  expect(browser.log(page)).toEqual({ consoleErrors: [], pageErrors: [], failedRequests: [] });
}

/** A refusal is a readable HTML page: never the JSON 404 of an unknown route, never a stack. */
async function expectRefusalPage(
  page: Page,
  response: HTTPResponse | null,
  status: number,
  expected: { page: string; state: string },
) {
  expect(statusOf(response)).toBe(status);
  expect(response?.headers()['content-type']).toMatch(/^text\/html/);
  expect(await accountPage(page)).toEqual(expected);
  const html = await page.content();
  expect(html).not.toContain('{"error":"not found"}');
  // Stack frames name a source file with line and column.
  expect(html).not.toMatch(/\.(?:js|ts):\d+:\d+/);
  expect(html).not.toMatch(/\b(?:TypeError|ReferenceError|QueryFailedError|AppError)\b/);
  expect((await textOf(page, 'main#main')).trim()).not.toBe('');
}

describe('account pages in headless chromium', () => {
  it('invitation email → link → new account with names and password → signed in', async () => {
    const email = uniqueEmail('invitee');
    const { link } = await inviteByEmail(email);
    expect(link.startsWith(`${origin}/invitations/accept?token=`)).toBe(true);

    const page = await browser.newPage();
    const opened = await page.goto(link);
    await browser.screenshot(page, 'invitation-new-account');
    expect(statusOf(opened)).toBe(200);
    expect(await accountPage(page)).toEqual({ page: 'invitation', state: 'new-account' });
    expect(await textOf(page, '[data-field="org-name"]')).toContain('Acme');
    expect(await textOf(page, '[data-field="inviter-name"]')).toContain('Olivia Owner');

    const accepted = await submitForm(page, { firstName: 'Ada', lastName: 'Browser', password: NEW_PASSWORD });
    await browser.screenshot(page, 'invitation-accepted');
    expect(statusOf(accepted)).toBe(200);
    expect(await accountPage(page)).toEqual({ page: 'invitation', state: 'accepted' });
    const cookies = await page.browserContext().cookies();
    expect(cookies.map((cookie) => cookie.name)).toContain('portcullis_account');

    // The account cookie is a real session: the sign-in page knows who this is.
    await page.goto(`${origin}/sign-in`);
    await browser.screenshot(page, 'invitation-then-sign-in-page');
    expect(await accountPage(page)).toEqual({ page: 'sign-in', state: 'signed-in' });
    expect(await textOf(page, 'main#main')).toContain(email);
    expectNoPageProblems(page);

    const login = await server.login(email, NEW_PASSWORD);
    const [user] = await server.sql('SELECT first_name, last_name FROM users WHERE id = $1', [login.userId]);
    expect(user).toEqual({ first_name: 'Ada', last_name: 'Browser' });
    const [membership] = await server.sql('SELECT 1 FROM memberships WHERE org_id = $1 AND user_id = $2', [
      orgId,
      login.userId,
    ]);
    expect(membership).toBeDefined();
  });

  it('reset email → link → new password → sign in with it', async () => {
    const email = await member('resetter');
    const link = await resetLinkFor(email);
    expect(link.startsWith(`${origin}/password/reset?token=`)).toBe(true);

    const page = await browser.newPage();
    const opened = await page.goto(link);
    await browser.screenshot(page, 'reset-form');
    expect(statusOf(opened)).toBe(200);
    expect(await accountPage(page)).toEqual({ page: 'password-reset', state: 'form' });

    // The password policy answers in words, next to the field, and spends nothing (in a tab of its
    // own: the browser logs its 400 as a console error).
    const policyPage = await browser.newPage();
    await policyPage.goto(link);
    const refused = await submitForm(policyPage, { password: 'too short' });
    await browser.screenshot(policyPage, 'reset-policy-refused');
    expect(statusOf(refused)).toBe(400);
    expect(await accountPage(policyPage)).toEqual({ page: 'password-reset', state: 'form' });
    expect(await textOf(policyPage, 'main#main [role=alert]')).toMatch(/at least 12 characters/);
    const invalid = await policyPage.$eval('main#main [name="password"]', (input) =>
      input.getAttribute('aria-invalid'),
    );
    expect(invalid).toBe('true');

    const done = await submitForm(page, { password: NEW_PASSWORD });
    await browser.screenshot(page, 'reset-done');
    expect(statusOf(done)).toBe(200);
    expect(await accountPage(page)).toEqual({ page: 'password-reset', state: 'done' });

    await page.goto(`${origin}/sign-in`);
    await browser.screenshot(page, 'sign-in-form');
    expect(await accountPage(page)).toEqual({ page: 'sign-in', state: 'form' });
    await submitForm(page, { email, password: NEW_PASSWORD });
    await browser.screenshot(page, 'sign-in-signed-in');
    expect(await accountPage(page)).toEqual({ page: 'sign-in', state: 'signed-in' });
    expect(await textOf(page, 'main#main')).toContain(email);
    expectNoPageProblems(page);

    await expect(server.login(email, MEMBER_PASSWORD)).rejects.toThrow(/login failed/);
  });

  it('verification email → link → confirmed by the page itself → verified', async () => {
    const member = await person(server, 'verifier');
    const since = sink.messages.length;
    expect((await server.graphql(REQUEST_VERIFICATION, {}, { token: member.token })).data).toEqual({
      requestEmailVerification: true,
    });
    const link = linkFrom(await sink.waitFor(member.email, since), '/email/verify');
    expect(link.startsWith(`${origin}/email/verify?token=`)).toBe(true);

    const page = await browser.newPage();
    await page.goto(link);
    await page.waitForFunction(`document.querySelector('main#main')?.getAttribute('data-state') !== 'confirm'`, {
      timeout: 10_000,
    });
    await browser.screenshot(page, 'email-verified');
    expect(await accountPage(page)).toEqual({ page: 'email-verify', state: 'verified' });
    expectNoPageProblems(page);
    const [user] = await server.sql('SELECT email_verified_at FROM users WHERE id = $1', [member.id]);
    expect(user.email_verified_at).not.toBeNull();
  });

  it('expired, used, revoked and unknown links answer a clear page with 410 or 404', async () => {
    const page = await browser.newPage();

    const expired = await inviteByEmail(uniqueEmail('late'));
    await server.sql(`UPDATE invitations SET expires_at = now() - interval '1 hour' WHERE id = $1`, [expired.id]);
    const expiredResponse = await page.goto(expired.link);
    await browser.screenshot(page, 'invitation-expired');
    await expectRefusalPage(page, expiredResponse, 410, { page: 'invitation', state: 'expired' });

    const revoked = await inviteByEmail(uniqueEmail('unwanted'));
    const revocation = await server.graphql(REVOKE, { id: revoked.id }, { token: ownerToken });
    expect(revocation.data?.revokeInvitation.status).toBe('REVOKED');
    const revokedResponse = await page.goto(revoked.link);
    await browser.screenshot(page, 'invitation-revoked');
    await expectRefusalPage(page, revokedResponse, 410, { page: 'invitation', state: 'revoked' });

    const resetLink = await resetLinkFor(await member('twice'));
    const token = new URL(resetLink).searchParams.get('token');
    expect((await server.graphql(RESET, { token, next: NEW_PASSWORD })).data?.resetPassword).toBe(true);
    const usedResponse = await page.goto(resetLink);
    await browser.screenshot(page, 'reset-used');
    await expectRefusalPage(page, usedResponse, 410, { page: 'password-reset', state: 'used' });

    const garbageInvitation = await page.goto(`${origin}/invitations/accept?token=not-a-real-token`);
    await browser.screenshot(page, 'invitation-invalid');
    await expectRefusalPage(page, garbageInvitation, 404, { page: 'invitation', state: 'invalid' });

    const garbageReset = await page.goto(`${origin}/password/reset?token=not-a-real-token`);
    await browser.screenshot(page, 'reset-invalid');
    await expectRefusalPage(page, garbageReset, 404, { page: 'password-reset', state: 'invalid' });

    // The verification page confirms by script, so its answer may come from the form it posts.
    await page.goto(`${origin}/email/verify?token=not-a-real-token`);
    await page.waitForFunction(`document.querySelector('main#main')?.getAttribute('data-state') !== 'confirm'`, {
      timeout: 10_000,
    });
    await browser.screenshot(page, 'email-verify-invalid');
    expect(await accountPage(page)).toEqual({ page: 'email-verify', state: 'invalid' });
    expect(await page.content()).not.toContain('{"error":"not found"}');
  });
});
