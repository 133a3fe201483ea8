import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every gateway process caches credential checks and access decisions and LISTENs on
 * `portcullis_access_changed` to forget them (src/core/cache). These statement-level triggers
 * NOTIFY, at commit, whenever a table feeding those answers changes; PostgreSQL folds a
 * transaction's identical notifications into one.
 *
 * Hot columns that no cached answer reads are left out, so sign-in, refresh and key use do not
 * empty every cache: sessions INSERT and `expires_at` (refresh only extends it; a cached check ends
 * by the expiry it read), users `last_login_at` and profile fields, api_keys INSERT and
 * `last_used_*`. Everything else on these tables, and every change to the others, notifies.
 */
export class AccessChangeNotify1796544000000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE FUNCTION notify_access_changed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('portcullis_access_changed', TG_TABLE_NAME);
        RETURN NULL;
      END
      $$;

      CREATE TRIGGER sessions_access_changed
        AFTER UPDATE OF id, user_id, org_id, revoked_at OR DELETE OR TRUNCATE ON sessions
        FOR EACH STATEMENT EXECUTE FUNCTION notify_access_changed();
      CREATE TRIGGER users_access_changed
        AFTER UPDATE OF id, kind, status, super_user, customer_id, email_verified_at, locked_at OR DELETE OR TRUNCATE
        ON users FOR EACH STATEMENT EXECUTE FUNCTION notify_access_changed();
      CREATE TRIGGER api_keys_access_changed
        AFTER UPDATE OF id, org_id, owner_id, fingerprint, scopes, status, expires_at, grace_ends_at, revoked_at
          OR DELETE OR TRUNCATE
        ON api_keys FOR EACH STATEMENT EXECUTE FUNCTION notify_access_changed();

      CREATE TRIGGER orgs_access_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON orgs
        FOR EACH STATEMENT EXECUTE FUNCTION notify_access_changed();
      CREATE TRIGGER memberships_access_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON memberships
        FOR EACH STATEMENT EXECUTE FUNCTION notify_access_changed();
      CREATE TRIGGER roles_access_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON roles
        FOR EACH STATEMENT EXECUTE FUNCTION notify_access_changed();
      CREATE TRIGGER groups_access_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON groups
        FOR EACH STATEMENT EXECUTE FUNCTION notify_access_changed();
      CREATE TRIGGER group_members_access_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON group_members
        FOR EACH STATEMENT EXECUTE FUNCTION notify_access_changed();
      CREATE TRIGGER access_grants_access_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON access_grants
        FOR EACH STATEMENT EXECUTE FUNCTION notify_access_changed();
      CREATE TRIGGER resources_access_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON resources
        FOR EACH STATEMENT EXECUTE FUNCTION notify_access_changed();
      CREATE TRIGGER signing_keys_access_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON signing_keys
        FOR EACH STATEMENT EXECUTE FUNCTION notify_access_changed();
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP TRIGGER signing_keys_access_changed ON signing_keys;
      DROP TRIGGER resources_access_changed ON resources;
      DROP TRIGGER access_grants_access_changed ON access_grants;
      DROP TRIGGER group_members_access_changed ON group_members;
      DROP TRIGGER groups_access_changed ON groups;
      DROP TRIGGER roles_access_changed ON roles;
      DROP TRIGGER memberships_access_changed ON memberships;
      DROP TRIGGER orgs_access_changed ON orgs;
      DROP TRIGGER api_keys_access_changed ON api_keys;
      DROP TRIGGER users_access_changed ON users;
      DROP TRIGGER sessions_access_changed ON sessions;
      DROP FUNCTION notify_access_changed();
    `);
  }
}
