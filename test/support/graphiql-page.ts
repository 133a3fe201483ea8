import type { Page } from 'puppeteer-core';
import { OWNER_EMAIL, OWNER_PASSWORD } from './test-gateway';

/** Opens GraphiQL and waits for its sign-in bar and query editor. */
export async function openGraphiql(page: Page, origin: string): Promise<void> {
  await page.goto(`${origin}/graphql`);
  await page.waitForSelector('form#portcullis-sign-in', { visible: true });
  await page.waitForSelector('.graphiql-query-editor .CodeMirror');
}

/** Signs in through the bar as the owner and waits until the bar says so. */
export async function signInFromBar(page: Page): Promise<void> {
  // A page in the background never paints, and puppeteer's waits poll on animation frames.
  await page.bringToFront();
  await page.type('form#portcullis-sign-in input[name=email]', OWNER_EMAIL);
  await page.type('form#portcullis-sign-in input[name=password]', OWNER_PASSWORD);
  await page.click('form#portcullis-sign-in button[type=submit]');
  await page.waitForFunction(
    (text) => (globalThis as any).document.querySelector('#portcullis-session')?.textContent.includes(text),
    { timeout: 10_000 },
    `Signed in as ${OWNER_EMAIL}`,
  );
}

/** Types a query into GraphiQL's editor (CodeMirror 5), runs it and returns the parsed response pane. */
export async function runInGraphiql(page: Page, query: string): Promise<any> {
  await page.$eval('.graphiql-query-editor .CodeMirror', (editor, text) => editor.CodeMirror.setValue(text), query);
  await page.$eval('.graphiql-response .CodeMirror', (editor) => editor.CodeMirror.setValue(''));
  // While the editor holds several operations (the welcome text does) the button opens a menu to
  // pick one; GraphiQL re-parses the editor a moment after it changes.
  await page.waitForFunction(`!document.querySelector('.graphiql-execute-button').hasAttribute('aria-haspopup')`);
  await page.click('.graphiql-execute-button');
  await page.waitForFunction(
    `document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue().trim().startsWith('{')`,
    { timeout: 15_000 },
  );
  return JSON.parse(
    await page.$eval('.graphiql-response .CodeMirror', (editor): string => editor.CodeMirror.getValue()),
  );
}
