import 'reflect-metadata';
import { loadConfig } from '../../src/core/config/config';
import { openDatabase } from '../../src/core/db/database';
import { createLogger } from '../../src/core/logger';
import { RateLimitedError } from '../../src/core/rate-limit/rate-limited-error';
import { RateLimiter } from '../../src/core/rate-limit/rate-limiter';

/**
 * Run by store.test.ts in plain node against the embedded PGlite in DATA_DIR: 30 parallel
 * attempts against a limit of 3, printed as counts of passed, refused and any other outcome.
 */
async function main() {
  const config = loadConfig({ DATA_DIR: process.env.DATA_DIR, RATE_LIMIT_RESET_REQUEST_PER_EMAIL: '3/1h' });
  const database = await openDatabase(config, createLogger('silent'));
  const limiter = new RateLimiter(database.dataSource, config.rateLimits);
  try {
    const outcomes = await Promise.allSettled(
      Array.from({ length: 30 }, () => limiter.consume(['resetRequestPerEmail', 'someone@example.com'])),
    );
    const rejected = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason] : []));
    process.stdout.write(
      JSON.stringify({
        passed: outcomes.length - rejected.length,
        refused: rejected.filter((reason) => reason instanceof RateLimitedError).length,
        other: rejected.filter((reason) => !(reason instanceof RateLimitedError)).map(String),
      }),
    );
  } finally {
    limiter.stop();
    await database.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(String(error));
  process.exit(1);
});
