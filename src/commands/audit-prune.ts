import type { AuditActor } from '../core/audit/audit';
import { pruneAuditChain } from '../core/audit/retention';
import { signingKeys, withAdminSession } from './admin-session';

const SYSTEM_ACTOR: AuditActor = {
  actorId: null,
  actorKind: 'SYSTEM',
  apiKeyId: null,
  ipAddress: null,
  userAgent: 'portcullis-audit-prune',
  requestId: null,
};

/**
 * Prunes every org that has an audit retention, one transaction per org, so a failure in one org
 * leaves the others pruned. Prints one JSON line per org; meant for a daily cron job, and safe to
 * run while the gateway serves requests (the chain's lock orders it with their writes).
 */
export async function auditPrune(): Promise<number> {
  return withAdminSession({ create: false }, async (session) => {
    const db = session.database.dataSource;
    const keys = await signingKeys(session);
    const orgs: Array<{ id: string }> = await db.query(
      'SELECT id FROM orgs WHERE audit_retention_days IS NOT NULL ORDER BY id',
    );
    for (const { id } of orgs) {
      const { removed, checkpoint } = await db.transaction((tx) => pruneAuditChain(tx, keys, SYSTEM_ACTOR, id));
      process.stdout.write(`${JSON.stringify({ orgId: id, removed, checkpointId: checkpoint?.id ?? null })}\n`);
    }
    return 0;
  });
}
