import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every table the API contract needs. Uuids come from the core gen_random_uuid(), so neither
 * PostgreSQL nor the embedded PGlite needs an extension. Enumerations are CHECKed text, which
 * later migrations can widen without ALTER TYPE.
 */
export class InitialSchema1795420800000 implements MigrationInterface {
  name = 'InitialSchema1795420800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE orgs (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        slug text NOT NULL CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'),
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE UNIQUE INDEX orgs_slug_key ON orgs (slug);

      CREATE TABLE users (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        email text,
        first_name text,
        last_name text,
        kind text NOT NULL DEFAULT 'HUMAN' CHECK (kind IN ('HUMAN', 'SERVICE_ACCOUNT', 'CUSTOMER')),
        status text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('INVITED', 'ACTIVE', 'DEACTIVATED')),
        password_hash text,
        password_changed_at timestamptz,
        super_user boolean NOT NULL DEFAULT false,
        customer_id text,
        email_verified_at timestamptz,
        last_login_at timestamptz,
        locked_at timestamptz,
        lock_reason text,
        locked_until timestamptz,
        failed_login_count integer NOT NULL DEFAULT 0,
        failed_login_window_started_at timestamptz,
        default_org_id uuid REFERENCES orgs (id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT users_email_required CHECK (email IS NOT NULL OR kind = 'SERVICE_ACCOUNT'),
        CONSTRAINT users_service_account_has_no_password CHECK (kind <> 'SERVICE_ACCOUNT' OR password_hash IS NULL)
      );
      CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
      CREATE INDEX users_kind_idx ON users (kind);
      CREATE INDEX users_customer_id_idx ON users (customer_id) WHERE customer_id IS NOT NULL;
      CREATE INDEX users_last_name_idx ON users (lower(last_name), lower(first_name));

      CREATE TABLE roles (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
        key text NOT NULL,
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
        built_in boolean NOT NULL DEFAULT false,
        permissions text[] NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE UNIQUE INDEX roles_org_key_key ON roles (org_id, key);
      CREATE UNIQUE INDEX roles_org_name_key ON roles (org_id, lower(name));

      CREATE TABLE memberships (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
        role_id uuid NOT NULL REFERENCES roles (id) ON DELETE RESTRICT,
        status text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'DEACTIVATED')),
        invited_by_id uuid REFERENCES users (id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE UNIQUE INDEX memberships_org_user_key ON memberships (org_id, user_id);
      CREATE INDEX memberships_user_idx ON memberships (user_id);
      CREATE INDEX memberships_org_role_idx ON memberships (org_id, role_id);
      CREATE INDEX memberships_org_created_idx ON memberships (org_id, created_at, id);

      CREATE TABLE teams (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        slug text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE UNIQUE INDEX teams_org_slug_key ON teams (org_id, slug);

      CREATE TABLE team_members (
        team_id uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (team_id, user_id)
      );
      CREATE INDEX team_members_user_idx ON team_members (user_id);

      CREATE TABLE groups (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        role_id uuid REFERENCES roles (id) ON DELETE RESTRICT,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE UNIQUE INDEX groups_org_name_key ON groups (org_id, lower(name));
      CREATE INDEX groups_role_idx ON groups (role_id) WHERE role_id IS NOT NULL;

      CREATE TABLE group_members (
        group_id uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (group_id, user_id)
      );
      CREATE INDEX group_members_user_idx ON group_members (user_id);

      CREATE TABLE api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
        owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        prefix text NOT NULL,
        fingerprint bytea NOT NULL,
        scopes text[] NOT NULL DEFAULT '{}',
        status text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'ROTATING', 'REVOKED')),
        expires_at timestamptz,
        grace_ends_at timestamptz,
        last_used_at timestamptz,
        last_used_ip text,
        revoked_at timestamptz,
        rotated_from_id uuid REFERENCES api_keys (id) ON DELETE SET NULL,
        created_by_id uuid REFERENCES users (id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE UNIQUE INDEX api_keys_fingerprint_key ON api_keys (fingerprint);
      -- A key has at most one successor, whatever races rotateKey.
      CREATE UNIQUE INDEX api_keys_rotated_from_key ON api_keys (rotated_from_id) WHERE rotated_from_id IS NOT NULL;
      CREATE INDEX api_keys_org_idx ON api_keys (org_id, created_at);
      CREATE INDEX api_keys_owner_idx ON api_keys (owner_id);

      CREATE TABLE invitations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
        kind text NOT NULL CHECK (kind IN ('EMAIL', 'LINK')),
        email text,
        role_id uuid NOT NULL REFERENCES roles (id) ON DELETE RESTRICT,
        group_ids uuid[] NOT NULL DEFAULT '{}',
        team_ids uuid[] NOT NULL DEFAULT '{}',
        message text,
        customer_id text,
        token_hash bytea NOT NULL,
        status text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'ACCEPTED', 'REVOKED')),
        expires_at timestamptz NOT NULL,
        max_uses integer CHECK (max_uses IS NULL OR max_uses > 0),
        use_count integer NOT NULL DEFAULT 0,
        invited_by_id uuid REFERENCES users (id) ON DELETE SET NULL,
        accepted_by_id uuid REFERENCES users (id) ON DELETE SET NULL,
        accepted_at timestamptz,
        revoked_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT invitations_email_kind CHECK (kind = 'LINK' OR email IS NOT NULL)
      );
      CREATE UNIQUE INDEX invitations_token_hash_key ON invitations (token_hash);
      CREATE INDEX invitations_org_status_idx ON invitations (org_id, status, created_at);
      CREATE INDEX invitations_org_email_idx ON invitations (org_id, lower(email)) WHERE email IS NOT NULL;

      CREATE TABLE resources (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        environment text,
        category text,
        customer_ids text[] NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE UNIQUE INDEX resources_org_name_key ON resources (org_id, name);
      CREATE INDEX resources_customer_ids_idx ON resources USING gin (customer_ids);

      CREATE TABLE access_grants (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        resource_id uuid NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
        user_id uuid REFERENCES users (id) ON DELETE CASCADE,
        group_id uuid REFERENCES groups (id) ON DELETE CASCADE,
        level text NOT NULL CHECK (level IN ('READ', 'WRITE', 'ADMIN')),
        created_by_id uuid REFERENCES users (id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT access_grants_one_principal CHECK ((user_id IS NULL) <> (group_id IS NULL))
      );
      CREATE UNIQUE INDEX access_grants_resource_user_key ON access_grants (resource_id, user_id) WHERE user_id IS NOT NULL;
      CREATE UNIQUE INDEX access_grants_resource_group_key ON access_grants (resource_id, group_id) WHERE group_id IS NOT NULL;
      CREATE INDEX access_grants_user_idx ON access_grants (user_id) WHERE user_id IS NOT NULL;
      CREATE INDEX access_grants_group_idx ON access_grants (group_id) WHERE group_id IS NOT NULL;

      CREATE TABLE sessions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        org_id uuid REFERENCES orgs (id) ON DELETE SET NULL,
        ip_address text,
        user_agent text,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_refreshed_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz,
        revoke_reason text
      );
      CREATE INDEX sessions_user_active_idx ON sessions (user_id) WHERE revoked_at IS NULL;

      CREATE TABLE refresh_tokens (
        token_hash bytea PRIMARY KEY,
        session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        used_at timestamptz
      );
      CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

      CREATE TABLE password_reset_tokens (
        token_hash bytea PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        expires_at timestamptz NOT NULL,
        used_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX password_reset_tokens_user_idx ON password_reset_tokens (user_id);

      CREATE TABLE signing_keys (
        id text PRIMARY KEY,
        algorithm text NOT NULL,
        public_jwk jsonb NOT NULL,
        private_jwk_sealed text NOT NULL,
        status text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'RETIRED')),
        created_at timestamptz NOT NULL DEFAULT now(),
        retired_at timestamptz
      );
      -- One active signing key, even when two gateway processes start at once.
      CREATE UNIQUE INDEX signing_keys_one_active_key ON signing_keys ((status)) WHERE status = 'ACTIVE';

      CREATE TABLE audit_logs (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        seq bigint GENERATED ALWAYS AS IDENTITY,
        org_id uuid,
        actor_id uuid,
        actor_kind text NOT NULL,
        api_key_id uuid,
        action text NOT NULL,
        target_type text,
        target_id text,
        ip_address text,
        user_agent text,
        request_id text,
        changes jsonb,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        prev_hash text,
        hash text
      );
      CREATE UNIQUE INDEX audit_logs_seq_key ON audit_logs (seq);
      CREATE INDEX audit_logs_org_seq_idx ON audit_logs (org_id, seq DESC);
      CREATE INDEX audit_logs_actor_seq_idx ON audit_logs (actor_id, seq DESC) WHERE actor_id IS NOT NULL;
      CREATE INDEX audit_logs_org_action_seq_idx ON audit_logs (org_id, action, seq DESC);
      CREATE INDEX audit_logs_target_seq_idx ON audit_logs (target_type, target_id, seq DESC);
      CREATE INDEX audit_logs_created_idx ON audit_logs (created_at);
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP TABLE audit_logs;
      DROP TABLE signing_keys;
      DROP TABLE password_reset_tokens;
      DROP TABLE refresh_tokens;
      DROP TABLE sessions;
      DROP TABLE access_grants;
      DROP TABLE resources;
      DROP TABLE invitations;
      DROP TABLE api_keys;
      DROP TABLE group_members;
      DROP TABLE groups;
      DROP TABLE team_members;
      DROP TABLE teams;
      DROP TABLE memberships;
      DROP TABLE roles;
      DROP TABLE users;
      DROP TABLE orgs;
    `);
  }
}
