import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { auditRecordHash, type HashedAuditContent } from './audit-hash';

/** Who did it and from where; built from the request context (see core/context). */
export type AuditActor = {
  actorId: string | null;
  actorKind: string;
  apiKeyId: string | null;
  ipAddress: string | null;
  userAgent: string | null;
  requestId: string | null;
};

export type AuditEntry = {
  action: string;
  orgId?: string | null;
  targetType?: string;
  targetId?: string | null;
  changes?: Record<string, unknown>;
};

const SECRET_KEY_PATTERN = /password|token|secret|hash|fingerprint/i;

/** Drops secret-looking keys at any depth: audit `changes` must never carry a secret. */
export function withoutSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSecrets);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key]) => !SECRET_KEY_PATTERN.test(key))
        .map(([key, inner]) => [key, withoutSecrets(inner)]),
    );
  }
  return value;
}

/** A jsonb round trip: what PostgreSQL will hand back, so the hash covers exactly what is stored. */
function storedChanges(changes: Record<string, unknown> | undefined): Record<string, unknown> | null {
  return changes ? (JSON.parse(JSON.stringify(withoutSecrets(changes))) as Record<string, unknown>) : null;
}

/**
 * Writes one audit record with the caller's transaction, so it commits or rolls back with the
 * change it describes. Every state-changing operation calls this exactly once.
 *
 * Each org's records (and the account-level ones, org_id NULL) form a hash chain. The advisory lock
 * serialises writers of one chain until they commit, so two concurrent transactions cannot both
 * append to the same predecessor; it is released with the transaction, commit or rollback.
 */
export async function recordAudit(tx: EntityManager, actor: AuditActor, entry: AuditEntry): Promise<void> {
  const orgId = entry.orgId ?? null;
  await lockAuditChain(tx, orgId);
  const content: HashedAuditContent = {
    ...actor,
    id: randomUUID(),
    orgId,
    action: entry.action,
    targetType: entry.targetType ?? null,
    targetId: entry.targetId ?? null,
    changes: storedChanges(entry.changes),
    createdAt: new Date().toISOString(),
    prevHash: await lastHashOfChain(tx, orgId),
  };
  await tx.query(
    `INSERT INTO audit_logs (id, org_id, actor_id, actor_kind, api_key_id, action, target_type, target_id,
       ip_address, user_agent, request_id, changes, created_at, prev_hash, hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13, $14, $15)`,
    [
      content.id,
      content.orgId,
      content.actorId,
      content.actorKind,
      content.apiKeyId,
      content.action,
      content.targetType,
      content.targetId,
      content.ipAddress,
      content.userAgent,
      content.requestId,
      content.changes === null ? null : JSON.stringify(content.changes),
      content.createdAt,
      content.prevHash,
      auditRecordHash(content),
    ],
  );
}

/**
 * Serialises everyone who appends to or prunes one chain (org_id NULL: the account-level one) until
 * the transaction ends. Transaction-level advisory locks stack, so taking it twice is harmless.
 */
export async function lockAuditChain(tx: EntityManager, orgId: string | null): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(hashtext('audit:' || coalesce($1::text, '-')))`, [orgId]);
}

/** Read after taking the chain's lock, so it sees the last record every earlier writer committed. */
async function lastHashOfChain(tx: EntityManager, orgId: string | null): Promise<string | null> {
  const rows: Array<{ hash: string | null }> = await tx.query(
    orgId === null
      ? 'SELECT hash FROM audit_logs WHERE org_id IS NULL ORDER BY seq DESC LIMIT 1'
      : 'SELECT hash FROM audit_logs WHERE org_id = $1 ORDER BY seq DESC LIMIT 1',
    orgId === null ? [] : [orgId],
  );
  return rows[0]?.hash ?? null;
}
