import type { Page } from 'puppeteer-core';
import { launchBrowser, startLocalhostGateway, type TestBrowser } from '../support/browser';
import { OWNER_EMAIL, OWNER_PASSWORD } from '../support/test-gateway';

jest.setTimeout(90_000);

// Short enough to wait past in a test; the duration parser takes plain seconds.
const ACCESS_TOKEN_TTL_SECONDS = 8;

let browser: TestBrowser;

beforeAll(async () => {
  browser = await launchBrowser('graphiql');
});

afterAll(async () => {
  await browser?.close();
});

/** Types a query into GraphiQL's editor (CodeMirror 5), runs it and returns the parsed response pane. */
async function run(page: Page, query: string): Promise<any> {
  await page.$eval('.graphiql-query-editor .CodeMirror', (editor, text) => editor.CodeMirror.setValue(text), query);
  await page.$eval('.graphiql-response .CodeMirror', (editor) => editor.CodeMirror.setValue(''));
  // While the editor holds several operations (the welcome text does) the button opens a menu to
  // pick one; GraphiQL re-parses the editor a moment after it changes.
  await page.waitForFunction(`!document.querySelector('.graphiql-execute-button').hasAttribute('aria-haspopup')`);
  await page.click('.graphiql-execute-button');
  await page.waitForFunction(
    `document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue().trim().startsWith('{')`,
    { timeout: 10_000 },
  );
  return JSON.parse(
    await page.$eval('.graphiql-response .CodeMirror', (editor): string => editor.CodeMirror.getValue()),
  );
}

const sessionAttribute = (page: Page, name: string) =>
  page.$eval('#portcullis-session', (session, attribute) => session.getAttribute(attribute), name);

describe.each(['body', 'cookie'])('GraphiQL with REFRESH_TOKEN_TRANSPORT=%s', (transport) => {
  it('signs in from the bar, runs me, refreshes the token past its expiry and signs out', async () => {
    const { server, origin } = await startLocalhostGateway({
      REFRESH_TOKEN_TRANSPORT: transport,
      ACCESS_TOKEN_TTL: String(ACCESS_TOKEN_TTL_SECONDS),
    });
    try {
      const page = await browser.newPage();
      // The bearer token of every /graphql call GraphiQL makes, in order.
      const bearers: string[] = [];
      page.on('request', (request) => {
        const authorization = request.headers().authorization;
        if (request.url() === `${origin}/graphql` && authorization) bearers.push(authorization);
      });

      await page.goto(`${origin}/graphql`);
      await page.waitForSelector('form#portcullis-sign-in', { visible: true });
      await page.waitForSelector('.graphiql-query-editor .CodeMirror');
      await browser.screenshot(page, `${transport}-graphiql-signed-out`);

      await page.type('form#portcullis-sign-in input[name=email]', OWNER_EMAIL);
      await page.type('form#portcullis-sign-in input[name=password]', OWNER_PASSWORD);
      await page.click('form#portcullis-sign-in button[type=submit]');
      await page.waitForFunction(
        (email) => (globalThis as any).document.querySelector('#portcullis-session')?.textContent.includes(email),
        { timeout: 10_000 },
        `Signed in as ${OWNER_EMAIL}`,
      );
      await browser.screenshot(page, `${transport}-graphiql-signed-in`);
      const firstExpiry = Date.parse((await sessionAttribute(page, 'data-expires-at')) ?? '');
      expect(firstExpiry).toBeGreaterThan(Date.now());
      expect(firstExpiry).toBeLessThanOrEqual(Date.now() + ACCESS_TOKEN_TTL_SECONDS * 1000 + 1000);

      expect(await run(page, '{ me { email } }')).toEqual({ data: { me: { email: OWNER_EMAIL } } });
      await browser.screenshot(page, `${transport}-graphiql-me`);
      const firstBearer = bearers.at(-1);
      expect(firstBearer).toMatch(/^Bearer \S+$/);

      await new Promise((resolve) => setTimeout(resolve, firstExpiry - Date.now() + 1000));
      expect(Number(await sessionAttribute(page, 'data-refresh-count'))).toBeGreaterThanOrEqual(1);
      expect(Date.parse((await sessionAttribute(page, 'data-expires-at')) ?? '')).toBeGreaterThan(Date.now());
      expect(await run(page, '{ me { email } }')).toEqual({ data: { me: { email: OWNER_EMAIL } } });
      await browser.screenshot(page, `${transport}-graphiql-me-after-expiry`);
      expect(bearers.at(-1)).not.toBe(firstBearer);
      expect(browser.log(page)).toEqual({ consoleErrors: [], pageErrors: [], failedRequests: [] });

      await page.$$eval('button', (buttons) => buttons.find((button) => /sign out/i.test(button.textContent))?.click());
      await page.waitForSelector('form#portcullis-sign-in', { visible: true, timeout: 10_000 });
      await browser.screenshot(page, `${transport}-graphiql-signed-out-again`);
      await page.waitForSelector('#portcullis-session', { hidden: true });
      const signedOut = await run(page, '{ me { email } }');
      expect(signedOut.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    } finally {
      await server.close();
    }
  });
});
