/**
 * PostGraphile 4.14 in library mode on its own port, over the bench database's `public` schema,
 * as the peer issue 13 measures the member page against. It runs as the database owner with no
 * JWT and no row-level security: it authorizes nothing, which is part of why it is fast.
 *
 *   POSTGRAPHILE_DATABASE_URL, POSTGRAPHILE_PORT, POSTGRAPHILE_POOL_SIZE
 */
import './postgraphile-graphql';
import http from 'node:http';
import { Pool } from 'pg';
import { postgraphile } from 'postgraphile';

const pool = new Pool({
  connectionString: process.env.POSTGRAPHILE_DATABASE_URL,
  max: Number(process.env.POSTGRAPHILE_POOL_SIZE ?? 10),
});
const handler = postgraphile(pool, 'public', {
  graphqlRoute: '/graphql',
  disableQueryLog: true,
  retryOnInitFail: false,
  ignoreRBAC: true,
  enableQueryBatching: false,
});

const server = http.createServer((request, response) => {
  if (request.url === '/healthz') {
    response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    return;
  }
  handler(request, response);
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.POSTGRAPHILE_PORT), '127.0.0.1');
const stop = () => server.close(() => void pool.end().finally(() => process.exit(0)));
process.on('SIGTERM', stop).on('SIGINT', stop);
