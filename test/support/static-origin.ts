import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export type StaticOrigin = {
  /** `http://localhost:<port>`: the origin the browser sees, a site apart from the gateway's port. */
  origin: string;
  close(): Promise<void>;
};

/**
 * A second origin for browser tests: a loopback HTTP server that serves one HTML page at `/` and
 * its script at `/app.js`, and nothing else.
 */
export async function startStaticOrigin(page: { html: string; script: string }): Promise<StaticOrigin> {
  const files: Record<string, { body: string; type: string }> = {
    '/': { body: page.html, type: 'text/html; charset=utf-8' },
    '/app.js': { body: page.script, type: 'text/javascript; charset=utf-8' },
  };
  const server = createServer((request, response) => {
    const file = files[new URL(request.url ?? '/', 'http://localhost').pathname];
    if (request.method !== 'GET' || !file) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    response.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(file.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://localhost:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
