import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An account event is written to the account chain and to the chain of every org its subject
 * belongs to: `event_id` ties those rows together, `subject_user_id` names the account the event is
 * about (whatever the target), so "everything about this user" is one index range. Older rows keep
 * both null: the table is append-only and their hashes cover what they hold, so nothing is backfilled.
 */
export class AuditEventSubjects1795939200000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE audit_logs ADD COLUMN event_id uuid, ADD COLUMN subject_user_id uuid;
      CREATE INDEX audit_logs_subject_seq_idx ON audit_logs (subject_user_id, seq DESC)
        WHERE subject_user_id IS NOT NULL;
      CREATE INDEX audit_logs_event_idx ON audit_logs (event_id) WHERE event_id IS NOT NULL;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP INDEX audit_logs_event_idx;
      DROP INDEX audit_logs_subject_seq_idx;
      ALTER TABLE audit_logs DROP COLUMN subject_user_id, DROP COLUMN event_id;
    `);
  }
}
