/**
 * An account event as one INSERT: its account-chain record (org_id NULL, every detail) and one copy
 * for the chain of every org its subject belongs to (any status), in org id order. Parameters are
 * the account record's columns in chain-append.ts's order ($1 id, $2 org, null here, $3 actor, $5 API key, $15 subject).
 *
 * Each org's copy tells that org what happened to its member and nothing about another org:
 * - an actor who is not one of its members is shown only as EXTERNAL (SUPER_USER for a super user),
 *   without id, address, user agent or key; a member actor's API key stays only if it is the org's;
 * - in `changes`, `audit_org_copy_changes` (migration 1796371200000) drops at any depth the
 *   org-naming keys (`orgId`, `defaultOrgId`, `...OrgIds`) that do not name this org, and every
 *   value that is the id of another org of the subject or of the org of the key used.
 * A subject in no org (or none at all) gets no copies, from the same statement.
 */
export const ORG_COPIES_SQL = `
  WITH event AS (
    SELECT $1::uuid AS id, $2::uuid AS org_id, $3::uuid AS actor_id, $4::text AS actor_kind, $5::uuid AS api_key_id,
           $6::text AS action, $7::text AS target_type, $8::text AS target_id, $9::text AS ip_address,
           $10::text AS user_agent, $11::text AS request_id, $12::jsonb AS changes,
           $13::timestamptz AS created_at, $14::uuid AS event_id, $15::uuid AS subject_user_id
  ), subject_orgs AS (
    SELECT s.org_id,
           EXISTS (SELECT 1 FROM memberships a WHERE a.org_id = s.org_id AND a.user_id = $3::uuid) AS actor_is_member
      FROM memberships s
     WHERE s.user_id = $15::uuid
  ), named AS (
    SELECT array(SELECT org_id::text FROM subject_orgs) || array(SELECT org_id::text FROM api_keys WHERE id = $5::uuid) AS orgs,
           (SELECT org_id FROM api_keys WHERE id = $5::uuid) AS key_org_id,
           coalesce((SELECT super_user FROM users WHERE id = $3::uuid), false) AS actor_is_super_user
  )
  INSERT INTO audit_logs (id, org_id, actor_id, actor_kind, api_key_id, action, target_type, target_id,
                          ip_address, user_agent, request_id, changes, created_at, event_id, subject_user_id)
  SELECT id, org_id, actor_id, actor_kind, api_key_id, action, target_type, target_id, ip_address,
         user_agent, request_id, changes, created_at, event_id, subject_user_id
    FROM event
  UNION ALL
  (SELECT gen_random_uuid(), o.org_id,
          CASE WHEN o.actor_is_member THEN e.actor_id END,
          CASE WHEN o.actor_is_member OR e.actor_id IS NULL THEN e.actor_kind
               WHEN n.actor_is_super_user THEN 'SUPER_USER' ELSE 'EXTERNAL' END,
          CASE WHEN o.actor_is_member AND n.key_org_id = o.org_id THEN e.api_key_id END,
          e.action, e.target_type, e.target_id,
          CASE WHEN o.actor_is_member THEN e.ip_address END,
          CASE WHEN o.actor_is_member THEN e.user_agent END,
          e.request_id, audit_org_copy_changes(e.changes, o.org_id::text, n.orgs),
          e.created_at, e.event_id, e.subject_user_id
     FROM event e, subject_orgs o, named n
    ORDER BY o.org_id)`;
