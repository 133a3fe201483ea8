/** A served page, with what the tests read of it. */
export type Page = {
  status: number;
  headers: Headers;
  html: string;
  /** `data-page` and `data-state` of `<main id="main">`. */
  page: string | null;
  state: string | null;
  /** The first form's CSRF token, if the page has a form. */
  csrf: string | null;
  /** Set-Cookie headers of this answer, as sent. */
  setCookies: string[];
  location: string | null;
};

const ENTITY = /&#(\d+);|&(amp|lt|gt|quot);/g;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"' };

/** Text as it reads once the browser has decoded its character references. */
export function decode(text: string): string {
  return text.replace(ENTITY, (_match, code: string | undefined, name: string | undefined) =>
    code ? String.fromCharCode(Number(code)) : NAMED[name as string],
  );
}

/** The text inside every element carrying `data-field="name"`, tags stripped. */
export function fieldTexts(html: string, name: string): string[] {
  const pattern = new RegExp(`<(\\w+)[^>]*data-field="${name}"[^>]*>([\\s\\S]*?)</\\1>`, 'g');
  return [...html.matchAll(pattern)].map((match) => decode(match[2].replace(/<[^>]*>/g, '')).trim());
}

/** Every `<input>`'s attributes (a bare attribute reads as ''). */
export function inputs(html: string): Array<Record<string, string>> {
  return [...html.matchAll(/<input\b([^>]*)>/g)].map((match) =>
    Object.fromEntries(
      [...match[1].matchAll(/([a-zA-Z_:-]+)(?:="([^"]*)")?/g)].map((attribute) => [
        attribute[1],
        decode(attribute[2] ?? ''),
      ]),
    ),
  );
}

export function formActions(html: string): string[] {
  return [...html.matchAll(/<form\b[^>]*action="([^"]*)"/g)].map((match) => decode(match[1]));
}

/**
 * A browser without JavaScript over real HTTP: keeps cookies by name (ignoring Secure, as the test
 * gateway's public URL is not the address it is reached at), follows nothing on its own, and posts
 * forms urlencoded with the CSRF token the page carried.
 */
export class PageClient {
  readonly cookies = new Map<string, string>();

  constructor(readonly baseUrl: string) {}

  private remember(response: Response): string[] {
    const setCookies = response.headers.getSetCookie();
    for (const line of setCookies) {
      const [pair, ...attributes] = line.split(';').map((part) => part.trim());
      const [name, ...value] = pair.split('=');
      const expired = attributes.some(
        (attribute) =>
          /^max-age=0$/i.test(attribute) ||
          (/^expires=/i.test(attribute) && new Date(attribute.slice(8)).getTime() < Date.now()),
      );
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value.join('='));
    }
    return setCookies;
  }

  cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  async request(path: string, init: RequestInit = {}): Promise<Page> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0 && !headers.has('cookie')) headers.set('cookie', this.cookieHeader());
    const response = await fetch(`${this.baseUrl}${path}`, { ...init, headers, redirect: 'manual' });
    const setCookies = this.remember(response);
    const html = await response.text();
    const main = /<main id="main" data-page="([^"]*)" data-state="([^"]*)"/.exec(html);
    return {
      status: response.status,
      headers: response.headers,
      html,
      page: main?.[1] ?? null,
      state: main?.[2] ?? null,
      csrf: /name="_csrf" value="([^"]*)"/.exec(html)?.[1] ?? null,
      setCookies,
      location: response.headers.get('location'),
    };
  }

  get(path: string): Promise<Page> {
    return this.request(path);
  }

  /** Posts `fields` urlencoded; `_csrf` comes from `from` unless the fields name their own. */
  post(
    path: string,
    fields: Record<string, string>,
    options: { from?: Page; headers?: Record<string, string> } = {},
  ): Promise<Page> {
    const body = new URLSearchParams({
      ...(options.from?.csrf ? { _csrf: decode(options.from.csrf) } : {}),
      ...fields,
    });
    return this.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...options.headers },
      body: body.toString(),
    });
  }

  /** Submits the page's first form (or the one posting to `action`), as pressing its button does. */
  submit(page: Page, fields: Record<string, string> = {}, action?: string): Promise<Page> {
    const target = action ?? formActions(page.html)[0];
    if (!target) throw new Error(`no form on the page: ${page.html}`);
    return this.post(target, fields, { from: page });
  }
}
