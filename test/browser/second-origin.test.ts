import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'puppeteer-core';
import { launchBrowser, startLocalhostGateway, type TestBrowser } from '../support/browser';
import { startStaticOrigin, type StaticOrigin } from '../support/static-origin';
import { OWNER_EMAIL, OWNER_PASSWORD, type TestGateway } from '../support/test-gateway';

jest.setTimeout(90_000);

const APP_PAGE = {
  html: `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8" /><title>Browser app on a second origin</title></head>
  <body>
    <h1>Browser app: <span id="origin"></span></h1>
    <ol id="log"></ol>
    <script src="/app.js"></script>
  </body>
</html>
`,
  script: readFileSync(path.join(__dirname, 'second-origin-app.js'), 'utf8'),
};

type Outcome = { status?: number; json?: any; error?: string };

let listed: StaticOrigin;
let unlisted: StaticOrigin;
let server: TestGateway;
let gatewayOrigin: string;
let browser: TestBrowser;

beforeAll(async () => {
  listed = await startStaticOrigin(APP_PAGE);
  unlisted = await startStaticOrigin(APP_PAGE);
  ({ server, origin: gatewayOrigin } = await startLocalhostGateway({
    REFRESH_TOKEN_TRANSPORT: 'cookie',
    CORS_ORIGINS: listed.origin,
  }));
  browser = await launchBrowser('second-origin');
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await listed?.close();
  await unlisted?.close();
});

async function openApp(origin: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${origin}/?gateway=${encodeURIComponent(gatewayOrigin)}`);
  await page.waitForFunction('typeof window.app === "object"');
  return page;
}

/** Runs one of the page's own calls (second-origin-app.js) inside the page. */
function inPage(page: Page, call: 'login' | 'me' | 'refresh' | 'logout', ...args: string[]): Promise<Outcome> {
  return page.evaluate((name, values) => (globalThis as any).app[name](...values), call, args);
}

async function refreshCookie(page: Page) {
  const cookies = await page.browserContext().cookies();
  return cookies.find((cookie) => cookie.name === 'portcullis_refresh');
}

describe('a browser app on another origin', () => {
  it('signs in with CORS, refreshes through the HttpOnly cookie and never sees the refresh token', async () => {
    const page = await openApp(listed.origin);
    await browser.screenshot(page, 'listed-origin-opened');

    const login = await inPage(page, 'login', OWNER_EMAIL, OWNER_PASSWORD);
    expect(login.status).toBe(200);
    expect(login.json.errors).toBeUndefined();
    expect(login.json.data.login).toEqual({
      accessToken: expect.any(String),
      refreshToken: null,
      expiresAt: expect.any(String),
    });
    const first = await refreshCookie(page);
    expect(first).toMatchObject({ domain: 'localhost', path: '/auth', httpOnly: true, sameSite: 'Lax', secure: false });

    const me = await inPage(page, 'me', login.json.data.login.accessToken);
    expect(me).toEqual({ status: 200, json: { data: { me: { email: OWNER_EMAIL } } } });

    const refreshed = await inPage(page, 'refresh');
    expect(refreshed).toEqual({
      status: 200,
      json: { accessToken: expect.any(String), expiresAt: expect.any(String), tokenType: expect.any(String) },
    });
    expect(refreshed.json.accessToken).not.toBe(login.json.data.login.accessToken);
    const rotated = await refreshCookie(page);
    expect(rotated?.httpOnly).toBe(true);
    expect(rotated?.value).not.toBe(first?.value);

    const meAgain = await inPage(page, 'me', refreshed.json.accessToken);
    expect(meAgain).toEqual({ status: 200, json: { data: { me: { email: OWNER_EMAIL } } } });
    await browser.screenshot(page, 'listed-origin-signed-in-and-refreshed');

    const seen: string[] = await page.evaluate(() => (globalThis as any).app.seen);
    expect(seen).toHaveLength(4);
    for (const body of seen) {
      expect(body).not.toContain(first?.value);
      expect(body).not.toContain(rotated?.value);
    }
    expect(browser.log(page)).toEqual({ consoleErrors: [], pageErrors: [], failedRequests: [] });

    // On the gateway's own origin, under the cookie's path, script still cannot read it.
    await page.goto(`${gatewayOrigin}/auth/refresh`);
    await browser.screenshot(page, 'gateway-origin-auth-path');
    expect(await refreshCookie(page)).toMatchObject({ value: rotated?.value, httpOnly: true });
    expect(await page.evaluate('document.cookie')).not.toContain('portcullis_refresh');

    await page.goto(`${listed.origin}/?gateway=${encodeURIComponent(gatewayOrigin)}`);
    await page.waitForFunction('typeof window.app === "object"');
    expect(await inPage(page, 'logout')).toMatchObject({ status: 204 });
    expect(await refreshCookie(page)).toBeUndefined();
    const afterLogout = await inPage(page, 'refresh');
    await browser.screenshot(page, 'listed-origin-logged-out');
    expect(afterLogout.status).toBeGreaterThanOrEqual(400);
    expect(afterLogout.json?.accessToken).toBeUndefined();
  });

  it('refuses an origin missing from CORS_ORIGINS inside the browser', async () => {
    const page = await openApp(unlisted.origin);

    const login = await inPage(page, 'login', OWNER_EMAIL, OWNER_PASSWORD);
    const refresh = await inPage(page, 'refresh');
    await browser.screenshot(page, 'unlisted-origin-refused');
    expect(login).toEqual({ error: expect.stringMatching(/^TypeError: Failed to fetch/) });
    expect(refresh).toEqual({ error: expect.stringMatching(/^TypeError: Failed to fetch/) });
    const corsErrors = browser.log(page).consoleErrors.filter((text) => text.includes('blocked by CORS policy'));
    expect(corsErrors.length).toBeGreaterThanOrEqual(2);
    expect(await refreshCookie(page)).toBeUndefined();
  });
});

describe('a browser app on another site (127.0.0.1 calling localhost)', () => {
  let crossSiteApp: StaticOrigin;
  let gateway: TestGateway;
  let origin: string;

  beforeAll(async () => {
    crossSiteApp = await startStaticOrigin(APP_PAGE);
    const appOrigin = crossSiteApp.origin.replace('localhost', '127.0.0.1');
    ({ server: gateway, origin } = await startLocalhostGateway({
      REFRESH_TOKEN_TRANSPORT: 'cookie',
      CORS_ORIGINS: appOrigin,
    }));
  });

  afterAll(async () => {
    await gateway?.close();
    await crossSiteApp?.close();
  });

  it('may call /graphql, but keeps no cookie session: cookie mode needs the app and the gateway on one site', async () => {
    const page = await browser.newPage();
    const appOrigin = crossSiteApp.origin.replace('localhost', '127.0.0.1');
    await page.goto(`${appOrigin}/?gateway=${encodeURIComponent(origin)}`);
    await page.waitForFunction('typeof window.app === "object"');
    const login = await inPage(page, 'login', OWNER_EMAIL, OWNER_PASSWORD);
    expect(login.status).toBe(200);
    expect(login.json.data.login.refreshToken).toBeNull();
    // A SameSite=Lax cookie is neither stored from nor sent with another site's requests.
    expect(await refreshCookie(page)).toBeUndefined();
    const refreshed = await inPage(page, 'refresh');
    await browser.screenshot(page, 'cross-site-no-cookie-session');
    expect(refreshed.status).toBe(401);
  });
});
