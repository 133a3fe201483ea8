import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Signing-key rotation: a NEXT key published ahead of signing (at most one, like ACTIVE, so two
 * gateway processes cannot both create one), and when a retired key left the JWKS. API keys record
 * the key that signed them, which stays published while any of them still works; existing keys
 * were signed by the one key there was until now.
 */
export class SigningKeyRotation1796630400000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE signing_keys DROP CONSTRAINT signing_keys_status_check;
      ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_status_check CHECK (status IN ('ACTIVE', 'NEXT', 'RETIRED'));
      ALTER TABLE signing_keys ADD COLUMN activates_at timestamptz;
      ALTER TABLE signing_keys ADD COLUMN unpublished_at timestamptz;
      ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_next_activates CHECK (status <> 'NEXT' OR activates_at IS NOT NULL);
      CREATE UNIQUE INDEX signing_keys_one_next_key ON signing_keys ((status)) WHERE status = 'NEXT';

      ALTER TABLE api_keys ADD COLUMN signing_kid text REFERENCES signing_keys (id);
      UPDATE api_keys SET signing_kid = (SELECT id FROM signing_keys WHERE status = 'ACTIVE');
      CREATE INDEX api_keys_signing_kid_idx ON api_keys (signing_kid) WHERE revoked_at IS NULL;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // The old schema publishes and trusts every key: a key retired at once after a leak would
    // verify again. Such a key is recognised by leaving the JWKS the moment it was retired.
    await queryRunner.query(`
      DO $$
      BEGIN
        IF EXISTS (SELECT 1 FROM signing_keys WHERE unpublished_at IS NOT NULL AND unpublished_at = retired_at) THEN
          RAISE EXCEPTION 'signing keys retired at once (rotateSigningKey immediate) exist; the schema before rotation would trust them again';
        END IF;
      END $$;
    `);
    // The old schema knows no NEXT key: one not yet signing goes; one that should have would have.
    await queryRunner.query(`
      DROP INDEX api_keys_signing_kid_idx;
      ALTER TABLE api_keys DROP COLUMN signing_kid;

      DELETE FROM signing_keys WHERE status = 'NEXT' AND activates_at > now();
      UPDATE signing_keys SET status = 'RETIRED', retired_at = now()
        WHERE status = 'ACTIVE' AND EXISTS (SELECT 1 FROM signing_keys WHERE status = 'NEXT');
      UPDATE signing_keys SET status = 'ACTIVE' WHERE status = 'NEXT';
      DROP INDEX signing_keys_one_next_key;
      ALTER TABLE signing_keys DROP CONSTRAINT signing_keys_next_activates;
      ALTER TABLE signing_keys DROP COLUMN unpublished_at;
      ALTER TABLE signing_keys DROP COLUMN activates_at;
      ALTER TABLE signing_keys DROP CONSTRAINT signing_keys_status_check;
      ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_status_check CHECK (status IN ('ACTIVE', 'RETIRED'));
    `);
  }
}
