import type { HTTPRequest, Page } from 'puppeteer-core';
import { launchBrowser, startLocalhostGateway, type TestBrowser } from '../support/browser';
import { openGraphiql, runInGraphiql as run, signInFromBar as signIn } from '../support/graphiql-page';
import { OWNER_EMAIL, type TestGateway } from '../support/test-gateway';

jest.setTimeout(120_000);

// Short enough to wait past in a test; the duration parser takes plain seconds.
const ACCESS_TOKEN_TTL_SECONDS = 8;
const TWENTY_MINUTES = 20 * 60 * 1000;
const SECRET = 'SECRET-123';

let browser: TestBrowser;

beforeAll(async () => {
  browser = await launchBrowser('graphiql-hardening');
});

afterAll(async () => {
  await browser?.close();
});

const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

/** The page's Date.now runs this far from the real clock, from before its first script. */
async function skewClock(page: Page, offset: number): Promise<void> {
  await page.evaluateOnNewDocument((by: number) => {
    const realNow = Date.now.bind(Date);
    Date.now = () => realNow() + by;
  }, offset);
}

/** The refresh requests the page sends, whichever the transport: the refreshSession mutation or /auth/refresh. */
function isRefresh(request: HTTPRequest, origin: string): boolean {
  if (request.method() !== 'POST') return false;
  if (request.url() === `${origin}/auth/refresh`) return true;
  return request.url() === `${origin}/graphql` && (request.postData() ?? '').includes('PortcullisRefresh');
}

function countRequests(page: Page, matches: (request: HTTPRequest) => boolean): () => number {
  let count = 0;
  page.on('request', (request) => {
    if (matches(request)) count += 1;
  });
  return () => count;
}

const refreshCount = async (page: Page) =>
  Number(await page.$eval('#portcullis-session', (session) => session.getAttribute('data-refresh-count')));

const alertText = (page: Page) => page.$eval('#portcullis-sign-in-error', (alert) => alert.textContent ?? '');

/** Every value of the page's web storage, one string to search. */
const webStorage = (page: Page) =>
  page.evaluate(() => {
    const { localStorage, sessionStorage } = globalThis as any;
    return JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)]);
  });

/** Sessions of the bootstrap owner that are still live. */
async function liveSessionIds(server: TestGateway): Promise<string[]> {
  const rows = await server.sql<{ id: string }>(
    `SELECT s.id FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = $1 AND s.revoked_at IS NULL`,
    [OWNER_EMAIL],
  );
  return rows.map((row) => row.id);
}

async function revokedAt(server: TestGateway, sessionId: string): Promise<Date | null> {
  const [row] = await server.sql<{ revoked_at: Date | null }>('SELECT revoked_at FROM sessions WHERE id = $1', [
    sessionId,
  ]);
  return row.revoked_at;
}

describe.each(['body', 'cookie'])('REFRESH_TOKEN_TRANSPORT=%s: a browser clock 20 minutes ahead', (transport) => {
  let server: TestGateway;
  let origin: string;

  beforeAll(async () => {
    ({ server, origin } = await startLocalhostGateway({
      REFRESH_TOKEN_TRANSPORT: transport,
      ACCESS_TOKEN_TTL: String(ACCESS_TOKEN_TTL_SECONDS),
    }));
  });

  afterAll(async () => {
    await server?.close();
  });

  it('does not take every new token for expired: no refresh loop, and me runs', async () => {
    const page = await browser.newPage();
    await skewClock(page, TWENTY_MINUTES);
    const refreshes = countRequests(page, (request) => isRefresh(request, origin));
    const bearers: string[] = [];
    page.on('request', (request) => {
      const authorization = request.headers().authorization;
      if (authorization) bearers.push(authorization);
    });
    await openGraphiql(page, origin);
    await signIn(page);
    // The expiry the bar shows is on the page's clock: the token's lifetime from now.
    const remaining = await page.$eval(
      '#portcullis-session',
      (session) => Date.parse(session.getAttribute('data-expires-at') ?? '') - Date.now(),
    );
    expect(remaining).toBeGreaterThan(0);
    expect(remaining).toBeLessThanOrEqual(ACCESS_TOKEN_TTL_SECONDS * 1000);
    await sleep(3000);
    expect(refreshes()).toBeLessThanOrEqual(1);
    expect(await run(page, '{ me { email } }')).toEqual({ data: { me: { email: OWNER_EMAIL } } });
    await browser.screenshot(page, `${transport}-clock-ahead-me`);
    const token = bearers.at(-1)?.replace(/^Bearer /, '');
    expect(token).toMatch(/\S{20,}/);
    expect(await webStorage(page)).not.toContain(token);
    expect(browser.log(page)).toEqual({ consoleErrors: [], pageErrors: [], failedRequests: [] });
  });
});

describe('REFRESH_TOKEN_TRANSPORT=body, short-lived access tokens', () => {
  let server: TestGateway;
  let origin: string;

  beforeAll(async () => {
    ({ server, origin } = await startLocalhostGateway({
      REFRESH_TOKEN_TRANSPORT: 'body',
      ACCESS_TOKEN_TTL: String(ACCESS_TOKEN_TTL_SECONDS),
    }));
  });

  afterAll(async () => {
    await server?.close();
  });

  it('refreshes in time under a browser clock 20 minutes behind', async () => {
    const page = await browser.newPage();
    await skewClock(page, -TWENTY_MINUTES);
    await openGraphiql(page, origin);
    await signIn(page);
    await sleep((ACCESS_TOKEN_TTL_SECONDS + 1) * 1000);
    // The timer, not a refused query, renewed the token.
    expect(await refreshCount(page)).toBeGreaterThanOrEqual(1);
    expect(await run(page, '{ me { email } }')).toEqual({ data: { me: { email: OWNER_EMAIL } } });
    expect(browser.log(page)).toEqual({ consoleErrors: [], pageErrors: [], failedRequests: [] });
  });

  it("refreshes and retries once when the gateway refuses the bar's token as expired", async () => {
    const page = await browser.newPage();
    // Without a Date header the script can only take the clocks to agree, so with this clock the
    // token looks valid for 20 more minutes: only the gateway's refusal reveals it expired.
    await skewClock(page, -TWENTY_MINUTES);
    await page.setRequestInterception(true);
    page.on('request', (request) => {
      const signsIn = /PortcullisSignIn|PortcullisRefresh/.test(request.postData() ?? '');
      if (request.url() !== `${origin}/graphql` || !signsIn) return void request.continue();
      void (async () => {
        const answer = await fetch(request.url(), {
          method: 'POST',
          headers: { 'content-type': 'application/json', origin },
          body: request.postData(),
        });
        const headers = Object.fromEntries([...answer.headers].filter(([name]) => name !== 'date'));
        await request.respond({ status: answer.status, headers, body: await answer.text() });
      })();
    });
    const meAnswers: string[] = [];
    page.on('response', async (response) => {
      if (response.url() === `${origin}/graphql` && (response.request().postData() ?? '').includes('me {')) {
        meAnswers.push(await response.text());
      }
    });

    await openGraphiql(page, origin);
    await signIn(page);
    await sleep((ACCESS_TOKEN_TTL_SECONDS + 1) * 1000);
    expect(await refreshCount(page)).toBe(0);

    expect(await run(page, '{ me { email } }')).toEqual({ data: { me: { email: OWNER_EMAIL } } });
    expect(await refreshCount(page)).toBe(1);
    expect(meAnswers).toHaveLength(2);
    expect(JSON.parse(meAnswers[0]).errors[0].extensions).toMatchObject({
      code: 'UNAUTHENTICATED',
      reason: 'auth.invalid_token',
    });
  });

  it('tries a refresh that could not reach the gateway once more, then says so', async () => {
    const page = await browser.newPage();
    let failuresToCome = 1;
    const attempts: number[] = [];
    await page.setRequestInterception(true);
    page.on('request', (request) => {
      if (!isRefresh(request, origin)) return void request.continue();
      attempts.push(Date.now());
      if (failuresToCome === 0) return void request.continue();
      failuresToCome -= 1;
      return void request.abort('internetdisconnected');
    });
    await openGraphiql(page, origin);
    await signIn(page);
    const [sessionId] = await liveSessionIds(server);

    await page.waitForFunction(`document.querySelector('#portcullis-session')?.dataset.refreshCount === '1'`, {
      timeout: 20_000,
    });
    expect(attempts).toHaveLength(2);
    expect(attempts[1] - attempts[0]).toBeGreaterThanOrEqual(1900);
    expect(await run(page, '{ me { email } }')).toEqual({ data: { me: { email: OWNER_EMAIL } } });

    failuresToCome = 2;
    await page.waitForSelector('form#portcullis-sign-in', { visible: true, timeout: 20_000 });
    expect(attempts).toHaveLength(4);
    expect(await alertText(page)).toMatch(/could not reach the gateway/);
    await browser.screenshot(page, 'body-refresh-unreachable');
    // The tab let go, but nothing ended the session on the gateway.
    expect(await revokedAt(server, sessionId)).toBeNull();
  });

  it('keeps headers typed in the Headers tab out of localStorage unless "Persist headers" is on', async () => {
    const page = await browser.newPage();
    await openGraphiql(page, origin);

    const runWithSecretHeader = async () => {
      await page.$$eval('.graphiql-editor-tools button', (buttons) =>
        buttons.find((button) => button.textContent?.trim() === 'Headers')?.click(),
      );
      await page.$eval(
        '.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror',
        (editor, text) => editor.CodeMirror.setValue(text),
        JSON.stringify({ Authorization: `Bearer ${SECRET}` }),
      );
      await run(page, '{ __typename }');
      // GraphiQL writes its tab state half a second after a change.
      await sleep(1000);
      await page.reload();
      await page.waitForSelector('.graphiql-query-editor .CodeMirror');
      return webStorage(page);
    };
    const persistHeaders = async (on: boolean) => {
      await page.click('button[aria-label="Open settings dialog"]');
      await page.click(on ? '#enable-persist-headers' : '#disable-persist-headers');
      await page.keyboard.press('Escape');
      await sleep(1000);
    };

    const stored = await runWithSecretHeader();
    expect(stored).toContain('graphiql:queries');
    expect(stored).toContain('__typename');
    expect(stored).not.toContain(SECRET);

    await persistHeaders(true);
    expect(await runWithSecretHeader()).toContain(SECRET);
    await browser.screenshot(page, 'body-headers-persisted');

    await persistHeaders(false);
    await page.reload();
    await page.waitForSelector('.graphiql-query-editor .CodeMirror');
    expect(await webStorage(page)).not.toContain(SECRET);
  });
});

describe('REFRESH_TOKEN_TRANSPORT=cookie: two tabs of one browser', () => {
  let server: TestGateway;
  let origin: string;

  beforeAll(async () => {
    ({ server, origin } = await startLocalhostGateway({ REFRESH_TOKEN_TRANSPORT: 'cookie' }));
  });

  afterAll(async () => {
    await server?.close();
  });

  it("a sign-in in one tab ends the other's session and tells it; a double-clicked sign-out sends one logout", async () => {
    const context = await browser.browser.createBrowserContext();
    try {
      const [a, b] = [await context.newPage(), await context.newPage()];
      const logoutsOfB = countRequests(b, (request) => request.url() === `${origin}/auth/logout`);
      const pageErrors: string[] = [];
      for (const page of [a, b]) page.on('pageerror', (error) => pageErrors.push(String(error)));
      await Promise.all([openGraphiql(a, origin), openGraphiql(b, origin)]);

      await signIn(a);
      const [sessionOfA, ...others] = await liveSessionIds(server);
      expect(others).toEqual([]);
      expect(await a.$eval('#portcullis-session', (box) => box.textContent)).toMatch(/HttpOnly cookie/);

      await signIn(b);
      expect(logoutsOfB()).toBe(1);
      await a.bringToFront();
      await a.waitForSelector('form#portcullis-sign-in', { visible: true, timeout: 10_000 });
      expect(await alertText(a)).toMatch(/signed in in another tab/);
      expect(await a.$('#portcullis-session')).toBeNull();
      await browser.screenshot(a, 'cookie-tab-a-signed-out-by-b');
      expect(await revokedAt(server, sessionOfA)).not.toBeNull();
      const [sessionOfB, ...rest] = await liveSessionIds(server);
      expect(rest).toEqual([]);
      expect(sessionOfB).not.toBe(sessionOfA);

      await b.bringToFront();
      await b.$eval('#portcullis-session button', (button: any) => {
        button.click();
        button.click();
      });
      await b.waitForSelector('form#portcullis-sign-in', { visible: true, timeout: 10_000 });
      await sleep(500);
      expect(logoutsOfB()).toBe(2);
      expect(await alertText(b)).toBe('');
      expect(await revokedAt(server, sessionOfB)).not.toBeNull();
      expect(pageErrors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
