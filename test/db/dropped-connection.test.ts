import { loadConfig } from '../../src/core/config/config';
import { openDatabase, type Database } from '../../src/core/db/database';
import { isDatabaseUnavailable } from '../../src/core/db/pg-errors';
import { createLogger } from '../../src/core/logger';
import { createTestDatabase } from '../support/database';

/**
 * A connection the server ends while it is checked out between two queries (a transaction in
 * progress during a restart or an outage): no uncaught error, its next query fails as the
 * database being unavailable (503 to clients), and the pool serves on with other connections.
 */

let target: { url: string; drop(): Promise<void> };
let database: Database;

beforeAll(async () => {
  target = await createTestDatabase();
  const config = loadConfig({ DATABASE_URL: target.url, SECRET_KEY: 'x'.repeat(32), DATABASE_POOL_SIZE: '3' });
  database = await openDatabase(config, createLogger('silent'));
});

afterAll(async () => {
  await database.close();
  await target.drop();
});

it('survives a held connection being terminated, fails its next query as unavailable, and serves on', async () => {
  const uncaught: unknown[] = [];
  const record = (error: unknown) => uncaught.push(error);
  process.on('uncaughtException', record);
  try {
    const runner = database.dataSource.createQueryRunner();
    await runner.connect();
    await runner.startTransaction();
    const [{ pid }] = await runner.query('SELECT pg_backend_pid() AS pid');
    await database.dataSource.query('SELECT pg_terminate_backend($1)', [pid]);
    await new Promise((resolve) => setTimeout(resolve, 300));

    const failure = await runner.query('SELECT 1').catch((error: unknown) => error);
    expect(isDatabaseUnavailable(failure)).toBe(true);
    await runner.release();
    expect(uncaught).toEqual([]);
    // The pool dropped the dead connection; the others serve.
    expect(await database.dataSource.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  } finally {
    process.off('uncaughtException', record);
  }
});
