import type { EntityManager } from 'typeorm';
import { recordAudit, type AuditActor } from './audit';
import { lockChainer } from './chainer';
import { insertCheckpoint, type AuditCheckpoint, type CheckpointKeys } from './checkpoint';

/** `checkpoint` is null when nothing was removed: no retention set, or no record old enough. */
export type AuditPruneResult = { removed: number; checkpoint: AuditCheckpoint | null };

/**
 * Removes the part of an org's chain older than its retention, with the caller's transaction, and
 * leaves a signed checkpoint holding the hash of the last removed record, so the remainder verifies.
 *
 * Under the chainer's lock, nobody links meanwhile. Only linked records are cut: the longest prefix
 * of old ones in chain order, never the newest linked one, so the remainder stays contiguous even
 * where two gateways' clocks disagree, and the chain always keeps a record to follow the
 * checkpoint. Records not linked yet stay, to be linked after it.
 */
export async function pruneAuditChain(
  tx: EntityManager,
  keys: CheckpointKeys,
  actor: AuditActor,
  orgId: string,
): Promise<AuditPruneResult> {
  await lockChainer(tx);
  const [org]: Array<{ days: number | null }> = await tx.query(
    'SELECT audit_retention_days AS "days" FROM orgs WHERE id = $1',
    [orgId],
  );
  if (!org?.days) return { removed: 0, checkpoint: null };
  const [last]: Array<{ seq: string; hash: string }> = await tx.query(
    `WITH boundary AS (
       SELECT coalesce(min(chain_seq) FILTER (WHERE created_at >= now() - make_interval(days => $2)),
                       max(chain_seq)) AS keep_from
         FROM audit_logs
        WHERE org_id = $1 AND chain_seq IS NOT NULL
     )
     SELECT chain_seq::text AS "seq", hash
       FROM audit_logs, boundary
      WHERE org_id = $1 AND chain_seq IS NOT NULL AND chain_seq < boundary.keep_from
      ORDER BY audit_logs.chain_seq DESC
      LIMIT 1`,
    [orgId, org.days],
  );
  if (!last) return { removed: 0, checkpoint: null };

  // The append-only trigger lets deletes through only while this is on: just for this statement.
  await tx.query(`SET LOCAL portcullis.audit_retention = 'on'`);
  const [{ removed }]: Array<{ removed: number }> = await tx.query(
    `WITH removed AS (DELETE FROM audit_logs WHERE org_id = $1 AND chain_seq <= $2 RETURNING 1)
     SELECT count(*)::int AS removed FROM removed`,
    [orgId, last.seq],
  );
  await tx.query(`SET LOCAL portcullis.audit_retention = 'off'`);

  const checkpoint = await insertCheckpoint(tx, keys, {
    orgId,
    throughSeq: last.seq,
    lastHash: last.hash,
    removedCount: removed,
    createdAt: new Date().toISOString(),
  });
  await recordAudit(tx, actor, {
    action: 'audit.pruned',
    orgId,
    targetType: 'Org',
    targetId: orgId,
    changes: { removed, throughSeq: last.seq, checkpointId: checkpoint.id, retentionDays: org.days },
  });
  return { removed, checkpoint };
}
