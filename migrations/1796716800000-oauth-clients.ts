import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The registry of OAuth clients per org, which the OpenID Connect provider reads. A client's
 * secret is stored only as its SHA-256, and only a CONFIDENTIAL client has one. `portcullis` is the
 * first-party client id of GraphQL `login` tokens, so no registered client may take it. The
 * built-in admin and owner roles of existing orgs get the new permissions, as new orgs do.
 */
export class OAuthClients1796716800000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE oauth_clients (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
        client_id text NOT NULL CHECK (length(client_id) >= 22 AND client_id <> 'portcullis'),
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
        type text NOT NULL CHECK (type IN ('PUBLIC', 'CONFIDENTIAL')),
        secret_hash bytea,
        redirect_uris text[] NOT NULL,
        scopes text[] NOT NULL DEFAULT '{}',
        grant_types text[] NOT NULL,
        secret_rotated_at timestamptz,
        created_by_id uuid REFERENCES users (id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT oauth_clients_secret_by_type CHECK ((type = 'CONFIDENTIAL') = (secret_hash IS NOT NULL))
      );
      CREATE UNIQUE INDEX oauth_clients_client_id_key ON oauth_clients (client_id);
      CREATE UNIQUE INDEX oauth_clients_org_name_key ON oauth_clients (org_id, lower(name));

      UPDATE roles
         SET permissions = ARRAY(
               SELECT DISTINCT permission
                 FROM unnest(permissions || ARRAY['clients:read', 'clients:write']) AS permission
                ORDER BY 1)
       WHERE built_in AND key IN ('admin', 'owner');
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // The old code knows no such permissions: no role, built-in or custom, keeps them.
    await queryRunner.query(`
      UPDATE roles
         SET permissions = array_remove(array_remove(permissions, 'clients:read'), 'clients:write')
       WHERE permissions && ARRAY['clients:read', 'clients:write'];
      DROP TABLE oauth_clients;
    `);
  }
}
