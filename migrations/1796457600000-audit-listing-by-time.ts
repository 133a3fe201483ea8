import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Audit listings are ordered newest first by (created_at, seq) instead of seq alone
 * (src/modules/audit/audit-query.ts), so every filter, time windows included, is one index range
 * read in page order, whatever the number of records: each index below ends with
 * (created_at, seq) after the columns a filter fixes. They replace the seq-ordered ones, which
 * made a time window scan every newer record (or sort the whole window) and an actor filter within
 * an org read and sort all that actor's records.
 */
export class AuditListingByTime1796457600000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP INDEX audit_logs_org_seq_idx;
      DROP INDEX audit_logs_actor_seq_idx;
      DROP INDEX audit_logs_org_action_seq_idx;
      DROP INDEX audit_logs_target_seq_idx;
      DROP INDEX audit_logs_created_idx;
      DROP INDEX audit_logs_subject_seq_idx;
      CREATE INDEX audit_logs_time_idx ON audit_logs (created_at, seq);
      CREATE INDEX audit_logs_org_time_idx ON audit_logs (org_id, created_at, seq);
      CREATE INDEX audit_logs_actor_time_idx ON audit_logs (actor_id, created_at, seq) WHERE actor_id IS NOT NULL;
      CREATE INDEX audit_logs_org_actor_time_idx ON audit_logs (org_id, actor_id, created_at, seq)
        WHERE actor_id IS NOT NULL;
      CREATE INDEX audit_logs_action_time_idx ON audit_logs (action, created_at, seq);
      CREATE INDEX audit_logs_org_action_time_idx ON audit_logs (org_id, action, created_at, seq);
      CREATE INDEX audit_logs_target_time_idx ON audit_logs (target_type, target_id, created_at, seq);
      CREATE INDEX audit_logs_subject_time_idx ON audit_logs (subject_user_id, created_at, seq)
        WHERE subject_user_id IS NOT NULL;
      CREATE INDEX audit_logs_org_subject_time_idx ON audit_logs (org_id, subject_user_id, created_at, seq)
        WHERE subject_user_id IS NOT NULL;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP INDEX audit_logs_org_subject_time_idx;
      DROP INDEX audit_logs_subject_time_idx;
      DROP INDEX audit_logs_target_time_idx;
      DROP INDEX audit_logs_org_action_time_idx;
      DROP INDEX audit_logs_action_time_idx;
      DROP INDEX audit_logs_org_actor_time_idx;
      DROP INDEX audit_logs_actor_time_idx;
      DROP INDEX audit_logs_org_time_idx;
      DROP INDEX audit_logs_time_idx;
      CREATE INDEX audit_logs_org_seq_idx ON audit_logs (org_id, seq DESC);
      CREATE INDEX audit_logs_actor_seq_idx ON audit_logs (actor_id, seq DESC) WHERE actor_id IS NOT NULL;
      CREATE INDEX audit_logs_org_action_seq_idx ON audit_logs (org_id, action, seq DESC);
      CREATE INDEX audit_logs_target_seq_idx ON audit_logs (target_type, target_id, seq DESC);
      CREATE INDEX audit_logs_created_idx ON audit_logs (created_at);
      CREATE INDEX audit_logs_subject_seq_idx ON audit_logs (subject_user_id, seq DESC)
        WHERE subject_user_id IS NOT NULL;
    `);
  }
}
