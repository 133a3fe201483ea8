import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/core/config/config';
import { openDatabase, type Database } from '../../src/core/db/database';
import { createLogger } from '../../src/core/logger';
import { RateLimitedError } from '../../src/core/rate-limit/rate-limited-error';
import { RateLimiter } from '../../src/core/rate-limit/rate-limiter';
import { createTestDatabase } from '../support/database';

jest.setTimeout(60_000);

/** 30 parallel attempts against a limit of 3: exactly 3 pass, whichever database holds the counters. */
async function expectExactlyThreeOfThirty(database: Database) {
  const config = loadConfig({ RATE_LIMIT_RESET_REQUEST_PER_EMAIL: '3/1h' });
  const limiter = new RateLimiter(database.dataSource, config.rateLimits);
  try {
    const outcomes = await Promise.allSettled(
      Array.from({ length: 30 }, () => limiter.consume(['resetRequestPerEmail', 'someone@example.com'])),
    );
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(3);
    for (const outcome of outcomes.filter((outcome) => outcome.status === 'rejected')) {
      expect(outcome.reason).toBeInstanceOf(RateLimitedError);
      expect((outcome.reason as RateLimitedError).retryAfterSeconds).toBeGreaterThan(3500);
    }
  } finally {
    limiter.stop();
  }
}

it('counts exactly under concurrency on PostgreSQL, shared by separate connection pools', async () => {
  const target = await createTestDatabase();
  const config = loadConfig({ DATABASE_URL: target.url, SECRET_KEY: 'x'.repeat(32), DATABASE_POOL_SIZE: '5' });
  const first = await openDatabase(config, createLogger('silent'));
  const second = await openDatabase(config, createLogger('silent'));
  try {
    await expectExactlyThreeOfThirty(first);
    // Another process on the same database sees the spent counter.
    const limiter = new RateLimiter(second.dataSource, config.rateLimits);
    await expect(limiter.consume(['resetRequestPerEmail', 'someone@example.com'])).rejects.toBeInstanceOf(
      RateLimitedError,
    );

    // Only ended windows are swept away.
    await first.dataSource.query(`INSERT INTO rate_limits (key, points, expire) VALUES ('ended', 1, $1)`, [
      Date.now() - 1,
    ]);
    await limiter.removeExpired();
    const keys = await first.dataSource.query(`SELECT key FROM rate_limits`);
    expect(keys).toEqual([{ key: expect.stringMatching(/^resetRequestPerEmail:/) }]);
    limiter.stop();
  } finally {
    await first.close();
    await second.close();
    await target.drop();
  }
});

it('counts exactly under concurrency on the embedded PostgreSQL server', async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'portcullis-limits-'));
  const config = loadConfig({ DATA_DIR: dataDir, DATABASE_POOL_SIZE: '5' });
  const database = await openDatabase(config, createLogger('silent'));
  try {
    await expectExactlyThreeOfThirty(database);
  } finally {
    await database.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
