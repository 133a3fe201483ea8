import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Abuse-limit counters shared by every process (src/core/rate-limit): the columns are those
 * rate-limiter-flexible's PostgreSQL store reads and writes (`expire` in epoch milliseconds).
 * Automatic lockout no longer lives on the account: failures are counted per account and source
 * address in this table, so the per-account lockout columns go.
 */
export class RateLimits1795680000000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE rate_limits (
        key varchar(255) PRIMARY KEY,
        points integer NOT NULL DEFAULT 0,
        expire bigint
      );
      CREATE INDEX rate_limits_expire_idx ON rate_limits (expire);
      ALTER TABLE users
        DROP COLUMN locked_until,
        DROP COLUMN failed_login_count,
        DROP COLUMN failed_login_window_started_at;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE users
        ADD COLUMN locked_until timestamptz,
        ADD COLUMN failed_login_count integer NOT NULL DEFAULT 0,
        ADD COLUMN failed_login_window_started_at timestamptz;
      DROP TABLE rate_limits;
    `);
  }
}
