import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Email verification and email change links (single-use, only the SHA-256 of each token kept; a
 * link with `new_email` switches the account to that address when followed), and the org setting
 * that shuts members with an unverified address out of the org.
 */
export class EmailVerification1796112000000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE email_verification_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        token_hash bytea NOT NULL UNIQUE,
        new_email text,
        expires_at timestamptz NOT NULL,
        used_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX email_verification_tokens_user_idx ON email_verification_tokens (user_id);
      ALTER TABLE orgs ADD COLUMN require_verified_email boolean NOT NULL DEFAULT false;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE orgs DROP COLUMN require_verified_email;
      DROP TABLE email_verification_tokens;
    `);
  }
}
