import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Deleting orgs and accounts (docs/audit.md, "Deleting orgs and accounts").
 *
 * `deleted_orgs` remembers an org after its row is gone, so super users can still read and verify
 * its audit chain; like audit_logs it has no foreign keys, and `deleted_by` may name an account that
 * no longer exists.
 *
 * `audit_subject_keys` holds one random AES-256 key per subject (`user:<uuid>`, or
 * `email:<random uuid>` for an address without an account, found by the address's SHA-256 in
 * `address_hash`, which leaves with the row); personal data in audit `changes` is stored sealed under it. Deleting a subject's row is the erasure: the audit rows stay as they were,
 * so their hashes still hold, and what was sealed can no longer be opened.
 */
export class Deletion1796025600000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE deleted_orgs (
        id uuid PRIMARY KEY,
        slug text NOT NULL,
        name text NOT NULL,
        deleted_at timestamptz NOT NULL DEFAULT now(),
        deleted_by uuid
      );
      CREATE TABLE audit_subject_keys (
        subject text PRIMARY KEY CHECK (subject ~ '^(user|email):[0-9a-f-]{36}$'),
        key bytea NOT NULL CHECK (octet_length(key) = 32),
        address_hash text UNIQUE CHECK (address_hash ~ '^[0-9a-f]{64}$'),
        created_at timestamptz NOT NULL DEFAULT now()
      );
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP TABLE audit_subject_keys;
      DROP TABLE deleted_orgs;
    `);
  }
}
