import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type { HashedAuditContent } from './audit-hash';

/** A record before it joins a chain: everything but the hash of its predecessor. */
export type AuditRow = Omit<HashedAuditContent, 'prevHash'>;

/** `orgId`, `defaultOrgId`, `sessionOrgId`, `orgIds`: keys whose value names an org. */
const ORG_KEY = /org_?ids?$/i;

type SubjectOrg = { orgId: string; actorIsMember: boolean; actorIsSuperUser: boolean; keyOrgId: string | null };

/**
 * The copies of an account event for the chain of every org its subject belongs to (any status),
 * sorted by org id: the order in which their chains are locked. Each org reads what concerns its
 * member and nothing about another org: an actor who is not one of its members is shown only as
 * EXTERNAL (or SUPER_USER), without id, address, user agent or key, and no value naming another org
 * survives in `changes`. The account-chain row keeps every detail. No subject: no copies, after the
 * same query (so the work does not tell whether an account exists).
 */
export async function orgCopies(tx: EntityManager, event: AuditRow, subjectUserId: string | null): Promise<AuditRow[]> {
  const orgs: SubjectOrg[] = await tx.query(
    `SELECT s.org_id AS "orgId",
            EXISTS (SELECT 1 FROM memberships a WHERE a.org_id = s.org_id AND a.user_id = $2) AS "actorIsMember",
            coalesce((SELECT super_user FROM users WHERE id = $2), false) AS "actorIsSuperUser",
            (SELECT org_id FROM api_keys WHERE id = $3) AS "keyOrgId"
       FROM memberships s
      WHERE s.user_id = $1
      ORDER BY s.org_id`,
    [subjectUserId, event.actorId, event.apiKeyId],
  );
  const namedOrgs = new Set(orgs.map(({ orgId }) => orgId));
  if (orgs[0]?.keyOrgId) namedOrgs.add(orgs[0].keyOrgId);
  return orgs.map((org) => ({
    ...event,
    id: randomUUID(),
    orgId: org.orgId,
    ...actorAsSeenBy(event, org),
    changes: event.changes && (withoutOtherOrgs(event.changes, org.orgId, namedOrgs) as Record<string, unknown>),
  }));
}

function actorAsSeenBy(event: AuditRow, org: SubjectOrg): Partial<AuditRow> {
  if (org.actorIsMember) return { apiKeyId: org.keyOrgId === org.orgId ? event.apiKeyId : null };
  const actorKind = event.actorId === null ? event.actorKind : org.actorIsSuperUser ? 'SUPER_USER' : 'EXTERNAL';
  return { actorKind, actorId: null, apiKeyId: null, ipAddress: null, userAgent: null };
}

/** Drops, at any depth, org-naming keys that do not name `orgId`, and every value that is another known org's id. */
function withoutOtherOrgs(value: unknown, orgId: string, namedOrgs: ReadonlySet<string>): unknown {
  const namesOther = (inner: unknown) => typeof inner === 'string' && inner !== orgId && namedOrgs.has(inner);
  if (Array.isArray(value)) {
    return value.filter((inner) => !namesOther(inner)).map((inner) => withoutOtherOrgs(inner, orgId, namedOrgs));
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key, inner]) => !namesOther(inner) && !(ORG_KEY.test(key) && inner !== null && inner !== orgId))
        .map(([key, inner]) => [key, withoutOtherOrgs(inner, orgId, namedOrgs)]),
    );
  }
  return value;
}
