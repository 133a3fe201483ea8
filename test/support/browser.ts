import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser, type HTTPResponse, type Page } from 'puppeteer-core';
import { freePort } from './spawn-gateway';
import { startTestGateway, type TestGateway } from './test-gateway';

/** What went wrong inside a page: console errors, uncaught exceptions and requests that failed. */
export type PageLog = { consoleErrors: string[]; pageErrors: string[]; failedRequests: string[] };

export type TestBrowser = {
  browser: Browser;
  /** This file's screenshot folder inside the run's temporary folder. */
  screenshotDir: string;
  /** A fresh tab (its own cookie jar) whose problems are collected in `log(page)`. */
  newPage(): Promise<Page>;
  log(page: Page): PageLog;
  /** Saves a full-page PNG named by step, numbered in the order taken; returns its path. */
  screenshot(page: Page, name: string): Promise<string>;
  close(): Promise<void>;
};

/**
 * The run's folder for screenshots of every page the browser tests visit. Jest loads this module
 * afresh for each test file, so each file gets its own, printed when its browser starts.
 */
const RUN_DIR = path.join(
  os.tmpdir(),
  `portcullis-browser-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`,
);

/**
 * Headless Debian chromium driven by puppeteer-core: never a downloaded browser build. CI runs as
 * root, where chromium refuses to start with its sandbox.
 */
export async function launchBrowser(label: string): Promise<TestBrowser> {
  const screenshotDir = path.join(RUN_DIR, label);
  mkdirSync(screenshotDir, { recursive: true });
  console.log(`browser screenshots: ${screenshotDir}`);
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
    headless: true,
    defaultViewport: { width: 1280, height: 900 },
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--no-first-run', '--disable-extensions'],
  });
  const logs = new Map<Page, PageLog>();
  let taken = 0;
  return {
    browser,
    screenshotDir,
    async newPage() {
      // An isolated context per page, so one test's cookies never sign another in.
      const context = await browser.createBrowserContext();
      const page = await context.newPage();
      const log: PageLog = { consoleErrors: [], pageErrors: [], failedRequests: [] };
      logs.set(page, log);
      page.on('console', (message) => {
        const url = message.location().url ?? '';
        // Chromium asks for /favicon.ico on its own; the pages under test never reference one.
        if (message.type() === 'error' && !url.endsWith('/favicon.ico')) {
          log.consoleErrors.push(`${message.text()} (${url})`);
        }
      });
      page.on('pageerror', (error) => log.pageErrors.push(String(error)));
      page.on('requestfailed', (request) =>
        log.failedRequests.push(`${request.method()} ${request.url()}: ${request.failure()?.errorText}`),
      );
      return page;
    },
    log(page) {
      const log = logs.get(page);
      if (!log) throw new Error('page was not opened through newPage()');
      return log;
    },
    async screenshot(page, name) {
      taken += 1;
      const file = path.join(screenshotDir, `${String(taken).padStart(2, '0')}-${name.replace(/[^\w.-]+/g, '-')}.png`);
      await page.screenshot({ path: file as `${string}.png`, fullPage: true });
      return file;
    },
    async close() {
      await browser.close();
    },
  };
}

/** The HTTP status of a navigation's main document; fails loudly when there was none. */
export function statusOf(response: HTTPResponse | null): number {
  if (!response) throw new Error('the navigation produced no main-document response');
  return response.status();
}

/** `data-page` and `data-state` of an account page's `<main id="main">`. */
export async function accountPage(page: Page): Promise<{ page: string | null; state: string | null }> {
  return page.$eval('main#main', (main) => ({
    page: main.getAttribute('data-page'),
    state: main.getAttribute('data-state'),
  }));
}

/**
 * A test gateway on a port picked up front, so that PUBLIC_URL (emailed links, whether cookies are
 * Secure) is `http://localhost:<port>`: the origin the browser uses.
 */
export async function startLocalhostGateway(
  env: Record<string, string> = {},
): Promise<{ server: TestGateway; origin: string }> {
  const port = await freePort();
  const origin = `http://localhost:${port}`;
  const server = await startTestGateway({ PORT: String(port), PUBLIC_URL: origin, ...env });
  return { server, origin };
}
