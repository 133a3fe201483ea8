import { html, type Html } from './html';

export const ASSET_PREFIX = '/account/assets/';

/** The pages the browser tests (and people) tell apart, by `data-page` on `<main>`. */
export type PageName = 'sign-in' | 'invitation' | 'password-reset' | 'password-forgot' | 'email-verify' | 'error';

/** One rendered page: which page and state it is, its single heading, and its content. */
export type PageView = {
  page: PageName;
  state: string;
  title: string;
  body: Html;
  /** Same-origin scripts from ASSET_PREFIX; pages work without them. */
  scripts?: string[];
};

export type Branding = { name: string; logoPath: string | null };

export function renderLayout(brand: Branding, view: PageView): string {
  const logo = brand.logoPath ? html`<img class="logo" src="${brand.logoPath}" alt="" />` : null;
  const scripts = (view.scripts ?? []).map((name) => html`<script src="${ASSET_PREFIX}${name}" defer></script>`);
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${view.title} · ${brand.name}</title>
        <link rel="stylesheet" href="${ASSET_PREFIX}pages.css" />
        ${scripts}
      </head>
      <body>
        <header class="brand">${logo}<span class="brand-name">${brand.name}</span></header>
        <main id="main" data-page="${view.page}" data-state="${view.state}">
          <h1>${view.title}</h1>
          ${view.body}
        </main>
      </body>
    </html> `.markup;
}
