import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Makes audit_logs append-only for every role but superusers, the table owner included: UPDATE
 * and DELETE raise unless the transaction opted in with `SET LOCAL portcullis.audit_retention =
 * 'on'` (the retention job). Superusers are exempt because they could drop the trigger anyway;
 * what they alter, the hash chain exposes. Revoking the privileges (README, "Audit log") is the
 * stronger guard where the application has its own role.
 */
export class AuditAppendOnly1795507200000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE FUNCTION audit_logs_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF coalesce(current_setting('portcullis.audit_retention', true), '') <> 'on'
           AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
          RAISE EXCEPTION 'audit_logs is append-only (% refused)', TG_OP;
        END IF;
        -- A BEFORE trigger's result is the row to write: NEW for an update, OLD lets a delete go on.
        IF TG_OP = 'DELETE' THEN
          RETURN OLD;
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER audit_logs_append_only BEFORE UPDATE OR DELETE ON audit_logs
        FOR EACH ROW EXECUTE FUNCTION audit_logs_append_only();
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP TRIGGER audit_logs_append_only ON audit_logs;
      DROP FUNCTION audit_logs_append_only();
    `);
  }
}
