import type { EntityManager } from 'typeorm';
import { recordAudit, type AuditActor } from '../../core/audit/audit';
import { sealChain, type CheckpointKeys } from '../../core/audit/checkpoint';
import { accountSubject } from '../../core/audit/personal-data';
import { AppError } from '../../core/errors/app-error';
import { findLockedOrFail } from '../../core/db/rows';
import { OrgEntity } from '../orgs/org.entity';

/**
 * Deletes an org and everything in it, in the caller's transaction; its audit chain stays, sealed,
 * and `deleted_orgs` remembers the org so super users can still read and verify that chain.
 * Accounts of its members remain; its service accounts (members of no other org) go with it.
 */
export async function deleteOrg(
  tx: EntityManager,
  keys: CheckpointKeys,
  actor: AuditActor,
  input: { id: string; confirmSlug: string },
): Promise<true> {
  // The row lock waits for, then shuts out, every writer that references the org (foreign keys).
  const org = await findLockedOrFail(tx, OrgEntity, input.id, 'org.not_found');
  if (input.confirmSlug !== org.slug) throw new AppError('org.confirm_slug_mismatch', { field: 'confirmSlug' });

  await recordAudit(tx, actor, {
    action: 'org.deleted',
    orgId: org.id,
    targetType: 'Org',
    targetId: org.id,
    changes: { before: { slug: org.slug, name: org.name } },
  });

  const serviceAccounts: Array<{ id: string }> = await tx.query(
    `SELECT u.id FROM users u JOIN memberships m ON m.user_id = u.id
      WHERE m.org_id = $1 AND u.kind = 'SERVICE_ACCOUNT'
        AND NOT EXISTS (SELECT 1 FROM memberships o WHERE o.user_id = u.id AND o.org_id <> $1)`,
    [org.id],
  );
  const serviceAccountIds = serviceAccounts.map(({ id }) => id);
  // Children before the roles they name (memberships, groups and invitations restrict role deletes).
  for (const table of ['invitations', 'api_keys', 'resources', 'groups', 'teams', 'memberships', 'roles']) {
    await tx.query(`DELETE FROM ${table} WHERE org_id = $1`, [org.id]);
  }
  await tx.query('DELETE FROM users WHERE id = ANY($1::uuid[])', [serviceAccountIds]);
  await tx.query('DELETE FROM audit_subject_keys WHERE subject = ANY($1::text[])', [
    serviceAccountIds.map(accountSubject),
  ]);
  await tx.query('INSERT INTO deleted_orgs (id, slug, name, deleted_by) VALUES ($1, $2, $3, $4)', [
    org.id,
    org.slug,
    org.name,
    actor.actorId,
  ]);
  // Sessions issued for the org and users' default org fall back to none (ON DELETE SET NULL).
  await tx.query('DELETE FROM orgs WHERE id = $1', [org.id]);
  await sealChain(tx, keys, org.id);
  return true;
}
