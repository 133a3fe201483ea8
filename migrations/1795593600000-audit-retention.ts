import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per-org audit retention. Pruning removes the oldest part of an org's chain and leaves a signed
 * checkpoint naming the hash of the last record it removed, so the remainder still verifies: the
 * verifier starts from the newest checkpoint instead of from a first record without predecessor.
 * No foreign key on org_id, like audit_logs: a checkpoint outlives its org.
 */
export class AuditRetention1795593600000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE orgs ADD COLUMN audit_retention_days integer NULL
        CONSTRAINT orgs_audit_retention_days_check CHECK (audit_retention_days > 0);
      CREATE TABLE audit_checkpoints (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NULL,
        through_seq bigint NOT NULL,
        last_hash text NOT NULL,
        removed_count integer NOT NULL,
        signature text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX audit_checkpoints_org_seq_idx ON audit_checkpoints (org_id, through_seq DESC);
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP TABLE audit_checkpoints;
      ALTER TABLE orgs DROP COLUMN audit_retention_days;
    `);
  }
}
