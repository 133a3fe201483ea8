import type { EntityManager } from 'typeorm';
import { AuditLogEntity } from './audit-log.entity';

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

/**
 * Writes one audit record with the caller's transaction, so it commits or rolls back with the
 * change it describes. Every state-changing operation calls this exactly once.
 */
export async function recordAudit(tx: EntityManager, actor: AuditActor, entry: AuditEntry): Promise<void> {
  await tx.insert(AuditLogEntity, {
    ...actor,
    action: entry.action,
    orgId: entry.orgId ?? null,
    targetType: entry.targetType ?? null,
    targetId: entry.targetId ?? null,
    // TypeORM's insert typing cannot express a free-form jsonb object.
    changes: (entry.changes ? withoutSecrets(entry.changes) : null) as never,
  });
}
