import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Service accounts act only through API keys: no session row may ever belong to one, whichever code
 * path (or hand-written SQL) tries to write it. A user's kind is set when the account is created and
 * never changed, so guarding the sessions side is enough.
 */
export class NoServiceAccountSessions1795766400000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE FUNCTION sessions_no_service_account() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM users WHERE id = NEW.user_id AND kind = 'SERVICE_ACCOUNT') THEN
          RAISE EXCEPTION 'service accounts cannot hold sessions (user %)', NEW.user_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'sessions_no_service_account';
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER sessions_no_service_account BEFORE INSERT OR UPDATE OF user_id ON sessions
        FOR EACH ROW EXECUTE FUNCTION sessions_no_service_account();
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP TRIGGER sessions_no_service_account ON sessions;
      DROP FUNCTION sessions_no_service_account();
    `);
  }
}
