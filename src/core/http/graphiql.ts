import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** A file inside an installed package, found past its `exports` map. */
function packageFile(name: string, file: string): string {
  return path.join(path.dirname(require.resolve(`${name}/package.json`)), file);
}

/** Mounts GraphiQL against this gateway; served as a file so the page needs no inline script. */
const INIT_SCRIPT = `(function () {
  var fetcher = GraphiQL.createFetcher({ url: window.location.origin + '/graphql' });
  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, { fetcher: fetcher, defaultEditorToolsVisibility: true }),
  );
})();
`;

/** GraphiQL and React from the installed npm packages: the explorer works with no internet. */
const ASSETS = {
  'graphiql.min.js': { file: packageFile('graphiql', 'graphiql.min.js'), type: 'text/javascript' },
  'graphiql.min.css': { file: packageFile('graphiql', 'graphiql.min.css'), type: 'text/css' },
  'react.production.min.js': { file: packageFile('react', 'umd/react.production.min.js'), type: 'text/javascript' },
  'react-dom.production.min.js': {
    file: packageFile('react-dom', 'umd/react-dom.production.min.js'),
    type: 'text/javascript',
  },
  'init.js': { text: INIT_SCRIPT, type: 'text/javascript' },
} satisfies Record<string, { file: string; type: string } | { text: string; type: string }>;

export type GraphiqlAssetName = keyof typeof ASSETS;

export const GRAPHIQL_ASSET_PREFIX = '/graphiql/';

export const GRAPHIQL_ASSET_NAMES = Object.keys(ASSETS) as GraphiqlAssetName[];

export const GRAPHIQL_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'";

export const graphiqlPage = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Portcullis GraphiQL</title>
    <link rel="stylesheet" href="${GRAPHIQL_ASSET_PREFIX}graphiql.min.css" />
    <style>body { margin: 0; height: 100vh; } #graphiql { height: 100vh; }</style>
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL…</div>
    <script src="${GRAPHIQL_ASSET_PREFIX}react.production.min.js"></script>
    <script src="${GRAPHIQL_ASSET_PREFIX}react-dom.production.min.js"></script>
    <script src="${GRAPHIQL_ASSET_PREFIX}graphiql.min.js"></script>
    <script src="${GRAPHIQL_ASSET_PREFIX}init.js"></script>
  </body>
</html>
`;

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
