import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/config';
import { escapeHtml } from '../mail/template';
import { GRAPHIQL_INIT_SCRIPT } from './graphiql-init';
import { graphiqlWelcome } from './graphiql-welcome';

/** A file inside an installed package, found past its `exports` map. */
function packageFile(name: string, file: string): string {
  return path.join(path.dirname(require.resolve(`${name}/package.json`)), file);
}

/** GraphiQL and React from the installed npm packages: the explorer works with no internet. */
const ASSETS = {
  'graphiql.min.js': { file: packageFile('graphiql', 'graphiql.min.js'), type: 'text/javascript' },
  'graphiql.min.css': { file: packageFile('graphiql', 'graphiql.min.css'), type: 'text/css' },
  'react.production.min.js': { file: packageFile('react', 'umd/react.production.min.js'), type: 'text/javascript' },
  'react-dom.production.min.js': {
    file: packageFile('react-dom', 'umd/react-dom.production.min.js'),
    type: 'text/javascript',
  },
  'init.js': { text: GRAPHIQL_INIT_SCRIPT, type: 'text/javascript' },
} satisfies Record<string, { file: string; type: string } | { text: string; type: string }>;

export type GraphiqlAssetName = keyof typeof ASSETS;

export const GRAPHIQL_ASSET_PREFIX = '/graphiql/';

export const GRAPHIQL_ASSET_NAMES = Object.keys(ASSETS) as GraphiqlAssetName[];

export const GRAPHIQL_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'";

/**
 * The explorer's page, a function of the configuration: the init script reads the settings from
 * data attributes, as the CSP allows no inline script. The sign-in button stays disabled until
 * that script has taken the form over, so a password is never sent as a plain form submission.
 * The script must know the refresh-token transport before signing in: in cookie mode it first
 * ends the session the browser's cookie holds, which the new sign-in would otherwise strand.
 */
export function renderGraphiqlPage(config: Pick<Config, 'introspection' | 'cookies'>): string {
  const { refreshTokenTransport } = config.cookies;
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Portcullis GraphiQL</title>
    <link rel="stylesheet" href="${GRAPHIQL_ASSET_PREFIX}graphiql.min.css" />
    <style>
      body { margin: 0; height: 100vh; display: flex; flex-direction: column; font-family: system-ui, sans-serif; }
      #portcullis-bar { display: flex; align-items: center; gap: 0.75rem; padding: 0.5rem 1rem; border-bottom: 1px solid #d0d7de; font-size: 0.875rem; }
      #portcullis-bar strong { white-space: nowrap; }
      #portcullis-sign-in { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem; margin: 0; }
      #portcullis-sign-in[hidden] { display: none; }
      #portcullis-sign-in-error { margin: 0; color: #b42318; }
      #graphiql { flex: 1; min-height: 0; }
    </style>
  </head>
  <body>
    <header id="portcullis-bar">
      <strong>Portcullis GraphiQL</strong>
      <form id="portcullis-sign-in" method="post">
        <label for="portcullis-email">Email</label>
        <input id="portcullis-email" name="email" type="email" autocomplete="username" required />
        <label for="portcullis-password">Password</label>
        <input id="portcullis-password" name="password" type="password" autocomplete="current-password" required />
        <button type="submit" disabled>Sign in</button>
        <p id="portcullis-sign-in-error" role="alert"></p>
      </form>
    </header>
    <div
      id="graphiql"
      data-introspection="${String(config.introspection)}"
      data-refresh-transport="${refreshTokenTransport}"
      data-default-query="${escapeHtml(graphiqlWelcome({ introspection: config.introspection, refreshTokenTransport }))}"
    >Loading GraphiQL…</div>
    <script src="${GRAPHIQL_ASSET_PREFIX}react.production.min.js"></script>
    <script src="${GRAPHIQL_ASSET_PREFIX}react-dom.production.min.js"></script>
    <script src="${GRAPHIQL_ASSET_PREFIX}graphiql.min.js"></script>
    <script src="${GRAPHIQL_ASSET_PREFIX}init.js"></script>
  </body>
</html>
`;
}

const cache = new Map<GraphiqlAssetName, Buffer>();

export async function graphiqlAsset(name: GraphiqlAssetName): Promise<{ body: Buffer; type: string }> {
  const asset: { file: string; type: string } | { text: string; type: string } = ASSETS[name];
  let body = cache.get(name);
  if (!body) {
    body = 'text' in asset ? Buffer.from(asset.text) : await readFile(asset.file);
    cache.set(name, body);
  }
  return { body, type: asset.type };
}
