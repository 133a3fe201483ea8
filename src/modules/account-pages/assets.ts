import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, type Config } from '../../core/config/config';

export type Asset = { body: Buffer; type: string; headers?: Record<string, string> };

const MAX_LOGO_BYTES = 1024 * 1024;

const LOGO_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
};

/**
 * An SVG opened on its own is a document of this origin: with no script, no plugin and a sandbox, a
 * logo carrying script or links cannot act as the gateway's pages.
 */
const LOGO_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox";

/**
 * Submits the verification form once the page has loaded, so a person's click on the mailed link
 * verifies at once, while scanners that fetch links without running scripts leave the token unspent.
 */
const AUTO_SUBMIT = `(function () {
  var form = document.querySelector('form[data-auto-submit]');
  if (form) form.submit();
})();
`;

/** The pages' stylesheet, in the brand colour (BRAND_COLOR is a checked hex colour). */
function stylesheet(color: string): string {
  return `:root { --brand: ${color}; --text: #1b1f24; --muted: #57606a; --danger: #b42318; --ok: #116329; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--text); background: #f6f8fa; }
.brand { display: flex; align-items: center; gap: 0.75rem; padding: 1rem 1.5rem; background: #fff; border-top: 4px solid var(--brand); border-bottom: 1px solid #d0d7de; }
.brand .logo { max-height: 40px; max-width: 160px; }
.brand-name { font-weight: 600; font-size: 1.125rem; }
main { max-width: 28rem; margin: 2rem auto; padding: 1.5rem; background: #fff; border: 1px solid #d0d7de; border-radius: 8px; }
h1 { margin-top: 0; font-size: 1.5rem; line-height: 1.25; }
.field { margin: 0 0 1rem; }
label { display: block; font-weight: 600; margin-bottom: 0.25rem; }
input { display: block; width: 100%; padding: 0.5rem 0.625rem; font: inherit; border: 1px solid #8c959f; border-radius: 6px; }
input[readonly] { background: #f6f8fa; }
input[aria-invalid="true"] { border-color: var(--danger); border-width: 2px; }
.hint { margin: 0 0 0.25rem; color: var(--muted); font-size: 0.875rem; }
.field-error { margin: 0 0 0.25rem; color: var(--danger); font-weight: 600; }
button { padding: 0.5rem 1rem; font: inherit; font-weight: 600; color: #fff; background: var(--brand); border: 1px solid transparent; border-radius: 6px; cursor: pointer; }
button.secondary, form.secondary button { color: var(--text); background: #f6f8fa; border-color: #8c959f; }
a { color: var(--brand); }
a:focus-visible, button:focus-visible, input:focus-visible { outline: 3px solid var(--text); outline-offset: 2px; box-shadow: 0 0 0 5px #fff; }
.alert { margin: 0 0 1rem; padding: 0.75rem 1rem; border: 2px solid var(--danger); border-radius: 6px; background: #fff5f5; }
.alert p { margin: 0; font-weight: 600; }
.alert ul { margin: 0.25rem 0 0; padding-left: 1.25rem; }
.status { margin: 0 0 1rem; padding: 0.75rem 1rem; border: 2px solid var(--ok); border-radius: 6px; background: #f0fff4; }
dl.details { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; margin: 0 0 1rem; }
dl.details dt { font-weight: 600; }
dl.details dd { margin: 0; overflow-wrap: anywhere; }
form + form, form + p, p + form { margin-top: 1rem; }
`;
}

/**
 * The configured logo, read once at start: a missing, unreadable or oversized file stops the
 * gateway with a configuration error rather than serving pages with a broken image.
 */
async function readLogo(file: string): Promise<{ body: Buffer; extension: string }> {
  const extension = path.extname(file).toLowerCase();
  const problem = (reason: string) => new ConfigError([`BRAND_LOGO_FILE: ${file} ${reason}`]);
  let size: number;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw problem('is not a file');
    size = info.size;
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw problem(`cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  if (size > MAX_LOGO_BYTES) throw problem(`is ${size} bytes; a logo may be at most 1 MiB`);
  try {
    return { body: await readFile(file), extension };
  } catch (error) {
    throw problem(`cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}

/** The pages' static files by name under ASSET_PREFIX, built once per gateway. */
export async function loadAssets(config: Config): Promise<{ assets: Map<string, Asset>; logoName: string | null }> {
  const assets = new Map<string, Asset>([
    ['pages.css', { body: Buffer.from(stylesheet(config.brand.color)), type: 'text/css; charset=utf-8' }],
    ['auto-submit.js', { body: Buffer.from(AUTO_SUBMIT), type: 'text/javascript; charset=utf-8' }],
  ]);
  if (!config.brand.logoFile) return { assets, logoName: null };
  const logo = await readLogo(config.brand.logoFile);
  const logoName = `logo${logo.extension}`;
  assets.set(logoName, {
    body: logo.body,
    type: LOGO_TYPES[logo.extension],
    headers: { 'content-security-policy': LOGO_CSP },
  });
  return { assets, logoName };
}
