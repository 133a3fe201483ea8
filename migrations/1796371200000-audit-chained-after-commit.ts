import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Audit records are appended without a lock and chained after they commit (docs/audit.md, "Chains"):
 * a writer inserts its rows with `hash`, `prev_hash` and `chain_seq` null, and the single chainer
 * (src/core/audit/chainer.ts) later gives each its place in its chain (`chain_seq`, one sequence
 * across all chains, in the order the chainer links them) and its hashes.
 *
 * - Every existing row is already chained, in seq order: its `chain_seq` is its `seq`, so the
 *   checkpoints already stored (their `through_seq` is a seq) name the same rows.
 * - The append-only trigger also lets through the one update the chainer makes: an unchained row
 *   gets its position and hashes, and nothing else about it changes.
 * - `audit_org_copy_changes` is the SQL form of what an org's copy of an account event may say in
 *   `changes` (org-copies.ts), so an account event and its copies are one INSERT.
 */
export class AuditChainedAfterCommit1796371200000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE audit_logs ADD COLUMN chain_seq bigint;
      SELECT set_config('portcullis.audit_retention', 'on', true);
      UPDATE audit_logs SET chain_seq = seq;
      SELECT set_config('portcullis.audit_retention', 'off', true);
      CREATE UNIQUE INDEX audit_logs_chain_seq_key ON audit_logs (chain_seq);
      CREATE INDEX audit_logs_chain_idx ON audit_logs (org_id, chain_seq DESC) WHERE chain_seq IS NOT NULL;
      CREATE INDEX audit_logs_unchained_idx ON audit_logs (seq) WHERE chain_seq IS NULL;

      CREATE OR REPLACE FUNCTION audit_logs_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'UPDATE' AND OLD.chain_seq IS NULL AND OLD.hash IS NULL
           AND NEW.chain_seq IS NOT NULL AND NEW.hash IS NOT NULL
           AND to_jsonb(NEW) - 'chain_seq' - 'hash' - 'prev_hash' = to_jsonb(OLD) - 'chain_seq' - 'hash' - 'prev_hash' THEN
          RETURN NEW;
        END IF;
        IF coalesce(current_setting('portcullis.audit_retention', true), '') <> 'on'
           AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
          RAISE EXCEPTION 'audit_logs is append-only (% refused)', TG_OP;
        END IF;
        IF TG_OP = 'DELETE' THEN
          RETURN OLD;
        END IF;
        RETURN NEW;
      END $$;

      -- Drops, at any depth, org-naming keys (orgId, defaultOrgId, ...OrgIds) that do not name
      -- org, and every string value naming another org of 'named'.
      CREATE FUNCTION audit_org_copy_changes(value jsonb, org text, named text[]) RETURNS jsonb
      LANGUAGE plpgsql IMMUTABLE STRICT AS $$
      BEGIN
        IF jsonb_typeof(value) = 'array' THEN
          RETURN coalesce((
            SELECT jsonb_agg(audit_org_copy_changes(element, org, named) ORDER BY position)
              FROM jsonb_array_elements(value) WITH ORDINALITY AS elements(element, position)
             WHERE NOT (jsonb_typeof(element) = 'string' AND element #>> '{}' <> org AND element #>> '{}' = ANY (named))
          ), '[]'::jsonb);
        ELSIF jsonb_typeof(value) = 'object' THEN
          RETURN coalesce((
            SELECT jsonb_object_agg(key, audit_org_copy_changes(inner_value, org, named))
              FROM jsonb_each(value) AS members(key, inner_value)
             WHERE NOT (jsonb_typeof(inner_value) = 'string' AND inner_value #>> '{}' <> org
                        AND inner_value #>> '{}' = ANY (named))
               AND NOT (key ~* 'org_?ids?$' AND jsonb_typeof(inner_value) <> 'null'
                        AND NOT (jsonb_typeof(inner_value) = 'string' AND inner_value #>> '{}' = org))
          ), '{}'::jsonb);
        END IF;
        RETURN value;
      END $$;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const [{ unchained }]: Array<{ unchained: boolean }> = await queryRunner.query(
      'SELECT EXISTS (SELECT 1 FROM audit_logs WHERE chain_seq IS NULL) AS unchained',
    );
    // The earlier code reads every row as chained: let the chainer finish first.
    if (unchained) throw new Error('audit_logs holds records not yet chained; start the gateway once to chain them');
    await queryRunner.query(`
      DROP FUNCTION audit_org_copy_changes(jsonb, text, text[]);
      CREATE OR REPLACE FUNCTION audit_logs_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
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
      DROP INDEX audit_logs_unchained_idx;
      DROP INDEX audit_logs_chain_idx;
      DROP INDEX audit_logs_chain_seq_key;
      ALTER TABLE audit_logs DROP COLUMN chain_seq;
    `);
  }
}
