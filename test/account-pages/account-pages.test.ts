import { MEMBER_PASSWORD, person, uniqueEmail, createUser } from '../support/fixtures';
import { startSmtpSink, tokenFrom, type SmtpSink } from '../support/smtp-sink';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { decode, fieldTexts, formActions, inputs, PageClient } from './page-client';

let sink: SmtpSink;
let server: TestGateway;

const NEW_PASSWORD = 'another long passphrase';

async function resetToken(email: string): Promise<string> {
  const since = sink.messages.length;
  const response = await server.graphql('mutation ($email: String!) { requestPasswordReset(email: $email) }', {
    email,
  });
  expect(response.data.requestPasswordReset).toBe(true);
  return tokenFrom(await sink.waitFor(email, since), '/password/reset');
}

async function verificationToken(email: string, token: string): Promise<string> {
  const since = sink.messages.length;
  const response = await server.graphql('mutation { requestEmailVerification }', undefined, { token });
  expect(response.errors).toBeUndefined();
  return tokenFrom(await sink.waitFor(email, since), '/email/verify');
}

/** What a page reads as, tags dropped and white space collapsed. */
const textOf = (html: string) => decode(html.replace(/<[^>]*>/g, '')).replace(/\s+/g, ' ');

const resetPath = (token: string) => `/password/reset?token=${encodeURIComponent(token)}`;
const verifyPath = (token: string) => `/email/verify?token=${encodeURIComponent(token)}`;

beforeAll(async () => {
  sink = await startSmtpSink();
  server = await startTestGateway({ SMTP_URL: sink.url });
});

afterAll(async () => {
  await server.close();
  await sink.close();
});

describe('/password/reset', () => {
  it('email → form → policy message → new password works for login; the link is then used', async () => {
    const email = uniqueEmail('forgetful');
    await createUser(server, email);
    const { accessToken } = await server.login(email, MEMBER_PASSWORD);
    const token = await resetToken(email);
    const browser = new PageClient(server.url);

    const form = await browser.get(resetPath(token));
    expect([form.status, form.page, form.state]).toEqual([200, 'password-reset', 'form']);
    expect(fieldTexts(form.html, 'user-email')).toEqual([email]);
    expect(inputs(form.html).find((input) => input.name === 'password')?.autocomplete).toBe('new-password');

    const weak = await browser.submit(form, { password: 'password1234' });
    expect([weak.status, weak.state]).toEqual([400, 'form']);
    expect(weak.html).toContain('This password is too common; choose another');
    await expect(server.login(email, MEMBER_PASSWORD)).resolves.toBeTruthy();

    const done = await browser.submit(weak, { password: NEW_PASSWORD });
    expect([done.status, done.state]).toEqual([200, 'done']);
    expect(done.html).toContain('href="/sign-in"');
    expect(done.html).not.toContain(NEW_PASSWORD);
    await expect(server.login(email, MEMBER_PASSWORD)).rejects.toThrow('login failed');
    expect((await server.login(email, NEW_PASSWORD)).accessToken).toBeTruthy();
    // Every session ended, as the mutation does.
    const me = await server.graphql('{ me { id } }', undefined, { token: accessToken });
    expect(me.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const [audit] = await server.sql(
      `SELECT count(*)::int AS n FROM audit_logs a JOIN users u ON u.id = a.subject_user_id WHERE u.email = $1 AND a.action = 'user.password_reset'`,
      [email],
    );
    expect(audit.n).toBe(1);

    const used = await browser.get(resetPath(token));
    expect([used.status, used.state]).toEqual([410, 'used']);
    // A second submission of the same form (a double click) learns its first may have worked.
    const usedPost = await browser.post(resetPath(token), { password: 'yet another passphrase' }, { from: form });
    expect([usedPost.status, usedPost.state]).toEqual([410, 'used']);
    expect(textOf(usedPost.html)).toContain(
      'If you just submitted this form, your new password may already be set: try signing in.',
    );
    expect(usedPost.html).toMatch(/<a href="\/sign-in">try signing in<\/a>/);
    expect(textOf(used.html)).not.toContain('If you just submitted this form');
  });

  it('expired and unknown links', async () => {
    const email = uniqueEmail('slow');
    await createUser(server, email);
    const token = await resetToken(email);
    await server.sql(
      `UPDATE password_reset_tokens SET expires_at = now() - interval '1 minute' WHERE user_id = (SELECT id FROM users WHERE email = $1)`,
      [email],
    );
    const expired = await new PageClient(server.url).get(resetPath(token));
    expect([expired.status, expired.state]).toEqual([410, 'expired']);
    const unknown = await new PageClient(server.url).get(resetPath('nothing-like-a-token'));
    expect([unknown.status, unknown.state]).toEqual([404, 'invalid']);
  });
});

describe('/password/forgot', () => {
  it('answers the same for known and unknown addresses; only a known one gets a link', async () => {
    const email = uniqueEmail('asker');
    await createUser(server, email);
    const browser = new PageClient(server.url);
    const signIn = await browser.get('/sign-in');
    expect(signIn.html).toContain('href="/password/forgot"');
    const form = await browser.get('/password/forgot');
    expect([form.status, form.page, form.state]).toEqual([200, 'password-forgot', 'form']);

    const since = sink.messages.length;
    const known = await browser.submit(form, { email });
    const unknownEmail = uniqueEmail('stranger');
    const unknown = await browser.submit(form, { email: unknownEmail });
    for (const [page, address] of [
      [known, email],
      [unknown, unknownEmail],
    ] as const) {
      expect([page.status, page.state]).toEqual([200, 'sent']);
      expect(page.html.replace(address, '')).toBe(known.html.replace(email, ''));
    }
    const token = tokenFrom(await sink.waitFor(email, since), '/password/reset');
    expect((await browser.get(resetPath(token))).state).toBe('form');
    await expect(sink.waitFor(unknownEmail, since, 300)).rejects.toThrow('no message');
  });
});

describe('/email/verify', () => {
  it('GET asks and spends nothing; POST verifies; the link is then used', async () => {
    const member = await person(server, 'unverified');
    const token = await verificationToken(member.email, member.token);
    const browser = new PageClient(server.url);

    const confirm = await browser.get(verifyPath(token));
    expect([confirm.status, confirm.page, confirm.state]).toEqual([200, 'email-verify', 'confirm']);
    expect(fieldTexts(confirm.html, 'user-email')).toEqual([member.email]);
    expect(confirm.html).toContain('<script src="/account/assets/auto-submit.js" defer></script>');
    expect(confirm.html).toContain('data-auto-submit');
    expect(confirm.html.match(/<button type="submit">/g)).toHaveLength(1);
    // A second fetch, as a link scanner makes, still finds the link unspent.
    expect((await new PageClient(server.url).get(verifyPath(token))).state).toBe('confirm');
    const [before] = await server.sql('SELECT email_verified_at FROM users WHERE id = $1', [member.id]);
    expect(before.email_verified_at).toBeNull();

    const verified = await browser.submit(confirm);
    expect([verified.status, verified.state]).toEqual([200, 'verified']);
    const [after] = await server.sql('SELECT email_verified_at FROM users WHERE id = $1', [member.id]);
    expect(after.email_verified_at).not.toBeNull();

    const again = await browser.get(verifyPath(token));
    expect([again.status, again.state]).toEqual([410, 'used']);
    const script = await browser.get('/account/assets/auto-submit.js');
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toContain('text/javascript');
    expect(script.html).toContain('form.submit()');
  });

  it('an unknown link is invalid', async () => {
    const page = await new PageClient(server.url).get(verifyPath('unknown'));
    expect([page.status, page.state]).toEqual([404, 'invalid']);
  });
});

describe('/sign-in', () => {
  it('wrong password: 401 and the same words whether or not the account exists', async () => {
    const member = await person(server, 'signer');
    const browser = new PageClient(server.url);
    const form = await browser.get('/sign-in');
    expect([form.status, form.page, form.state]).toEqual([200, 'sign-in', 'form']);
    const autocomplete = Object.fromEntries(inputs(form.html).map((input) => [input.name, input.autocomplete]));
    expect(autocomplete).toMatchObject({ email: 'email', password: 'current-password' });

    const wrong = await browser.submit(form, { email: member.email, password: 'wrong password here' });
    const unknown = await browser.submit(form, { email: uniqueEmail('nobody'), password: 'wrong password here' });
    for (const page of [wrong, unknown]) {
      expect([page.status, page.state]).toEqual([401, 'form']);
      expect(page.html).toContain('Invalid email or password');
      expect(page.html).toContain('role="alert"');
    }
    expect(inputs(wrong.html).find((input) => input.name === 'email')?.value).toBe(member.email);
    expect(wrong.setCookies.some((line) => line.startsWith('portcullis_account='))).toBe(false);
    expect(browser.cookies.has('portcullis_account')).toBe(false);
  });

  it('signs in, shows who is signed in, and signs out by ending the session', async () => {
    const member = await person(server, 'roundtrip');
    const browser = new PageClient(server.url);
    const form = await browser.get('/sign-in');
    const signedIn = await browser.submit(form, { email: member.email, password: MEMBER_PASSWORD });
    expect([signedIn.status, signedIn.location]).toEqual([303, '/sign-in']);
    const token = browser.cookies.get('portcullis_account') as string;
    expect((await server.graphql('{ me { id } }', undefined, { token })).data.me.id).toBe(member.id);

    const page = await browser.get('/sign-in');
    expect([page.status, page.state]).toEqual([200, 'signed-in']);
    expect(fieldTexts(page.html, 'user-email')).toEqual([member.email]);
    expect(formActions(page.html)).toEqual(['/sign-out']);

    const out = await browser.submit(page);
    expect([out.status, out.state]).toEqual([200, 'form']);
    expect(out.html).toContain('You are signed out.');
    expect(browser.cookies.has('portcullis_account')).toBe(false);
    const me = await server.graphql('{ me { id } }', undefined, { token });
    expect(me.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const [audit] = await server.sql(
      `SELECT count(*)::int AS n FROM audit_logs WHERE subject_user_id = $1 AND action = 'session.revoked'`,
      [member.id],
    );
    expect(audit.n).toBe(1);

    // The revoked token in an old cookie signs nobody in, and the page clears it.
    const stale = new PageClient(server.url);
    stale.cookies.set('portcullis_account', token);
    const staleForm = await stale.get('/sign-in');
    expect(staleForm.state).toBe('form');
    expect(staleForm.setCookies.some((line) => /^portcullis_account=;/.test(line))).toBe(true);
  });

  it('returns to a same-origin next path only', async () => {
    const member = await person(server, 'traveller');
    for (const [next, expected] of [
      ['/invitations/accept?token=abc', '/invitations/accept?token=abc'],
      ['//evil.test/path', '/sign-in'],
      ['/\\evil.test', '/sign-in'],
      ['https://evil.test/', '/sign-in'],
    ]) {
      const browser = new PageClient(server.url);
      const path = `/sign-in?next=${encodeURIComponent(next)}`;
      const form = await browser.get(path);
      const signedIn = await browser.submit(form, { email: member.email, password: MEMBER_PASSWORD });
      expect([next, signedIn.status, signedIn.location]).toEqual([next, 303, expected]);
    }
  });

  it('returns to a next path outside Latin-1 percent-encoded, signed in, before and after signing in', async () => {
    const member = await person(server, 'unicode');
    for (const [next, expected] of [
      ['/\u0100', '/%C4%80'],
      ['/invitations/accept?token=é ü#frägment', '/invitations/accept?token=%C3%A9%20%C3%BC#fr%C3%A4gment'],
    ]) {
      const browser = new PageClient(server.url);
      const path = `/sign-in?next=${encodeURIComponent(next)}`;
      const form = await browser.get(path);
      expect([form.status, form.state]).toEqual([200, 'form']);
      const signedIn = await browser.submit(form, { email: member.email, password: MEMBER_PASSWORD });
      expect([next, signedIn.status, signedIn.location]).toEqual([next, 303, expected]);
      const token = browser.cookies.get('portcullis_account');
      expect((await server.graphql('{ me { id } }', undefined, { token })).data.me.id).toBe(member.id);
      const again = await browser.get(path);
      expect([again.status, again.location]).toEqual([303, expected]);
    }
  });
});
