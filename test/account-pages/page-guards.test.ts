import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as nextPaths from '../../src/modules/account-pages/next-path';
import { createOrgAs, MEMBER_PASSWORD, person, roleId } from '../support/fixtures';
import { startSmtpSink, tokenFrom, type SmtpSink } from '../support/smtp-sink';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { PageClient } from './page-client';

const LOGO = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

describe('abuse limits and odd requests', () => {
  let sink: SmtpSink;
  let server: TestGateway;

  beforeAll(async () => {
    sink = await startSmtpSink();
    server = await startTestGateway({ SMTP_URL: sink.url, RATE_LIMIT_ACCEPT_INVITATION_PER_IP: '2/15m' });
  });

  afterAll(async () => {
    await server.close();
    await sink.close();
  });

  it('posting an invitation form past its limit answers a 429 page with Retry-After', async () => {
    const owner = await person(server, 'limiter');
    const orgId = await createOrgAs(server, owner.token, 'Limited Org');
    await server.graphql(
      'mutation ($input: InviteInput!) { invite(input: $input) { id } }',
      { input: { orgId, email: 'limited@example.com', roleId: await roleId(server, orgId, 'viewer') } },
      { token: owner.token },
    );
    const token = tokenFrom(await sink.waitFor('limited@example.com'), '/invitations/accept');
    const browser = new PageClient(server.url);
    const offer = await browser.get(`/invitations/accept?token=${token}`);
    const fields = { firstName: 'Li', lastName: 'Mited', password: 'short' };
    for (let attempt = 0; attempt < 2; attempt++) {
      expect((await browser.submit(offer, fields)).status).toBe(400);
    }
    const limited = await browser.submit(offer, fields);
    expect([limited.status, limited.page, limited.state]).toEqual([429, 'error', 'rate-limited']);
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(60);
    expect(limited.html).toMatch(/try again in \d+ minutes/);
    // GETs are not charged: the page still shows.
    expect((await browser.get(`/invitations/accept?token=${token}`)).status).toBe(200);
  });

  it('other methods get 405, unreadable and oversized bodies a 4xx page, never a 500', async () => {
    const browser = new PageClient(server.url);
    const put = await browser.request('/sign-in', { method: 'PUT' });
    expect([put.status, put.page, put.headers.get('allow')]).toEqual([405, 'error', 'GET, HEAD, POST']);
    const getSignOut = await browser.request('/sign-out');
    expect([getSignOut.status, getSignOut.headers.get('allow')]).toEqual([405, 'POST']);
    // OPTIONS too, even from a browser asking as for a preflight: the pages are never CORS's.
    for (const path of ['/sign-in', '/invitations/accept?token=x', '/password/reset', '/email/verify']) {
      const options = await browser.request(path, {
        method: 'OPTIONS',
        headers: { origin: 'http://app.test', 'access-control-request-method': 'POST' },
      });
      expect([path, options.status, options.page, options.state]).toEqual([path, 405, 'error', 'method-not-allowed']);
      expect(options.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(options.headers.get('allow')).toBe('GET, HEAD, POST');
      expect([...options.headers.keys()].filter((name) => name.startsWith('access-control-'))).toEqual([]);
    }

    const form = await browser.get('/sign-in');
    const oversized = await browser.post('/sign-in', { email: 'a'.repeat(40_000), password: 'x' }, { from: form });
    expect([oversized.status, oversized.page]).toEqual([413, 'error']);
    const malformed = await browser.request('/sign-in', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{not json',
    });
    expect([malformed.status, malformed.page, malformed.state]).toEqual([400, 'error', 'invalid-request']);
    const repeated = await browser.request('/sign-in', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `_csrf=${encodeURIComponent(form.csrf ?? '')}&email=a@example.com&email=b@example.com&password=x`,
    });
    expect([repeated.status, repeated.state]).toEqual([400, 'form']);
  });
});

/**
 * The error-level lines about one request, by message: the failure is logged once, with its error,
 * and the request's own line (core/observability/request-log.ts) is at error level for a 5xx.
 */
function errorLines(logged: jest.SpyInstance, requestId: string): unknown[] {
  return logged.mock.calls
    .filter(([fields]) => (fields as { requestId?: string }).requestId === requestId)
    .map(([, message]) => message);
}

describe('failures', () => {
  let server: TestGateway;

  beforeAll(async () => {
    server = await startTestGateway();
  });

  afterAll(async () => {
    jest.restoreAllMocks();
    await server.close();
  });

  it('a database outage answers a 503 page; a fault of ours a 500 page with the request id, logged once', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
      code: 'ECONNREFUSED',
      syscall: 'connect',
    });
    const login = jest.spyOn(server.gateway.services.auth, 'login');
    const logged = jest.spyOn(server.gateway.logger, 'error');
    const browser = new PageClient(server.url);
    const form = await browser.get('/sign-in');
    const fields = { email: 'someone@example.com', password: 'whatever it is' };

    login.mockRejectedValueOnce(refused);
    const outage = await browser.submit(form, fields);
    expect([outage.status, outage.page, outage.state]).toEqual([503, 'error', 'unavailable']);
    expect(outage.headers.get('retry-after')).toBe('5');

    login.mockRejectedValueOnce(new Error('a detail only the log may see'));
    const failed = await browser.submit(form, fields);
    expect([failed.status, failed.page, failed.state]).toEqual([500, 'error', 'failed']);
    const requestId = failed.headers.get('x-request-id') as string;
    expect(failed.html).toContain(requestId);
    expect(failed.html).not.toContain('a detail only the log may see');
    expect(failed.html).not.toMatch(/\bat .*\.ts:\d+/);
    expect(errorLines(logged, requestId)).toEqual(['request failed', 'request']);
  });

  it('a redirect whose Location cannot be sent still answers the 500 page, with its headers and cookie', async () => {
    // nextPath never yields such a path (see account-pages.test.ts); stubbed, it stands for any
    // failure after reply.redirect set the header.
    const member = await person(server, 'redirected');
    const browser = new PageClient(server.url);
    const form = await browser.get('/sign-in');
    const logged = jest.spyOn(server.gateway.logger, 'error');
    const next = jest.spyOn(nextPaths, 'nextPath').mockReturnValue('/\u0100');
    try {
      const failed = await browser.submit(form, { email: member.email, password: MEMBER_PASSWORD });
      expect([failed.status, failed.page, failed.state]).toEqual([500, 'error', 'failed']);
      expect(failed.location).toBeNull();
      expect(failed.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(failed.headers.get('x-content-type-options')).toBe('nosniff');
      const requestId = failed.headers.get('x-request-id') as string;
      expect(errorLines(logged, requestId)).toEqual(['request failed', 'request']);
      // The session signing in started is the one the cookie holds, not one nobody has.
      const token = browser.cookies.get('portcullis_account');
      expect((await server.graphql('{ me { id } }', undefined, { token })).data.me.id).toBe(member.id);
    } finally {
      next.mockRestore();
      logged.mockRestore();
    }
  });
});

describe('branding', () => {
  it('shows BRAND_NAME, colours the stylesheet with BRAND_COLOR and serves BRAND_LOGO_FILE', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'portcullis-logo-'));
    const logo = path.join(dir, 'brand.png');
    writeFileSync(logo, LOGO);
    const server = await startTestGateway({
      BRAND_NAME: 'Acme <Identity>',
      BRAND_COLOR: '#c0ffee',
      BRAND_LOGO_FILE: logo,
    });
    try {
      const browser = new PageClient(server.url);
      const page = await browser.get('/sign-in');
      expect(page.html).toContain('<span class="brand-name">Acme &#60;Identity&#62;</span>');
      expect(page.html).toContain('<title>Sign in · Acme &#60;Identity&#62;</title>');
      expect(page.html).toContain('<img class="logo" src="/account/assets/logo.png" alt="" />');
      const css = await browser.get('/account/assets/pages.css');
      expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
      expect(css.html).toContain('--brand: #c0ffee;');
      expect(css.html).toContain(':focus-visible');
      const response = await fetch(`${server.url}/account/assets/logo.png`);
      expect(response.headers.get('content-type')).toBe('image/png');
      expect(Buffer.from(await response.arrayBuffer())).toEqual(LOGO);
    } finally {
      await server.close();
    }
  });

  it('refuses to start with a logo file that is missing or over 1 MiB', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'portcullis-logo-'));
    await expect(startTestGateway({ BRAND_LOGO_FILE: path.join(dir, 'missing.svg') })).rejects.toThrow(
      /BRAND_LOGO_FILE: .*missing\.svg cannot be read \(ENOENT\)/,
    );
    const huge = path.join(dir, 'huge.png');
    writeFileSync(huge, Buffer.alloc(1024 * 1024 + 1));
    await expect(startTestGateway({ BRAND_LOGO_FILE: huge })).rejects.toThrow(/at most 1 MiB/);
  });
});

describe('REFRESH_TOKEN_TRANSPORT=cookie', () => {
  it('a page sign-in also sets portcullis_refresh, which /auth/refresh accepts; signing out clears both', async () => {
    const server = await startTestGateway({ REFRESH_TOKEN_TRANSPORT: 'cookie' });
    try {
      const member = await person(server, 'cookied');
      const browser = new PageClient(server.url);
      const signedIn = await browser.submit(await browser.get('/sign-in'), {
        email: member.email,
        password: MEMBER_PASSWORD,
      });
      const refreshCookie = signedIn.setCookies.find((line) => line.startsWith('portcullis_refresh='));
      expect(refreshCookie).toMatch(/Path=\/auth/);
      expect(refreshCookie).toMatch(/HttpOnly/);
      const refreshed = await browser.request('/auth/refresh', {
        method: 'POST',
        headers: { origin: 'http://portcullis.test', 'x-portcullis-csrf': '1' },
      });
      expect(refreshed.status).toBe(200);
      expect(JSON.parse(refreshed.html).accessToken).toBeTruthy();

      const out = await browser.submit(await browser.get('/sign-in'));
      expect(out.state).toBe('form');
      expect(out.setCookies.some((line) => /^portcullis_refresh=;.*Path=\/auth/.test(line))).toBe(true);
      expect(browser.cookies.has('portcullis_refresh')).toBe(false);
      expect(browser.cookies.has('portcullis_account')).toBe(false);
    } finally {
      await server.close();
    }
  });
});
