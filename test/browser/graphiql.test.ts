import type { Page } from 'puppeteer-core';
import { launchBrowser, startLocalhostGateway, type TestBrowser } from '../support/browser';
import { openGraphiql, runInGraphiql as run, signInFromBar } from '../support/graphiql-page';
import { OWNER_EMAIL } from '../support/test-gateway';

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

      await openGraphiql(page, origin);
      await browser.screenshot(page, `${transport}-graphiql-signed-out`);

      await signInFromBar(page);
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
