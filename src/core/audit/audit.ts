import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { canonicalJson } from './audit-hash';
import { appendAccountEvent, appendRecords, type AuditRow } from './chain-append';
import { markAuditAppended } from './chainer';
import { sealPersonalData, sealPersonalDataOfMany } from './personal-data';

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
  /** The account the event is about, whatever its target; with no org, it makes an account event. */
  subjectUserId?: string | null;
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
 * Records one audit event with the caller's transaction, so it commits or rolls back with the
 * change it describes. Every state-changing operation calls this exactly once.
 *
 * An event with an org is one record in that org's chain. An account event (no org, a subject) is
 * one record in the account chain (org_id NULL, full detail) plus one in the chain of every org the
 * subject belongs to at that moment (see org-copies.ts), all sharing one `eventId`; anything else is
 * one record in the account chain. Either way one INSERT (after the sealing statement when the
 * event carries personal data), with no lock: the records are linked into their chains after they
 * commit (chainer.ts), so writers of one chain never wait for each other.
 */
export async function recordAudit(tx: EntityManager, actor: AuditActor, entry: AuditEntry): Promise<void> {
  // Personal data is sealed before anything is hashed: the hash covers the sealed form.
  const changes = await sealPersonalData(tx, storedChanges(entry.changes), entry);
  const event = auditRow(actor, entry, changes);
  // Whether or not the subject exists or belongs to orgs, the same statement runs (no enumeration by work).
  await (event.orgId !== null ? appendRecords(tx, [event]) : appendAccountEvent(tx, event));
  markAuditAppended(tx);
}

/**
 * Records many events of one org in the caller's transaction, in order, in a handful of statements
 * (their keys, then one INSERT per thousand): for an operation that
 * changes many things at once, such as an import, whose every line is an event of its own.
 */
export async function recordOrgEvents(
  tx: EntityManager,
  actor: AuditActor,
  orgId: string,
  entries: ReadonlyArray<Omit<AuditEntry, 'orgId'>>,
): Promise<void> {
  const inOrg = entries.map((entry) => ({ ...entry, orgId }));
  const sealed = await sealPersonalDataOfMany(
    tx,
    inOrg.map((entry) => ({ changes: storedChanges(entry.changes), owner: entry })),
  );
  const rows = inOrg.map((entry, index) => auditRow(actor, entry, sealed[index]));
  await appendRecords(tx, rows);
  markAuditAppended(tx);
}

/**
 * The record as written. Its hash is computed after commit, by the chainer; whatever could not be
 * hashed (a lone surrogate, which RFC 8785 refuses) is refused here, before anything is stored.
 */
function auditRow(actor: AuditActor, entry: AuditEntry, changes: Record<string, unknown> | null): AuditRow {
  const row = {
    ...actor,
    id: randomUUID(),
    eventId: randomUUID(),
    orgId: entry.orgId ?? null,
    subjectUserId: entry.subjectUserId ?? null,
    action: entry.action,
    targetType: entry.targetType ?? null,
    targetId: entry.targetId ?? null,
    changes,
    createdAt: new Date().toISOString(),
  };
  canonicalJson(row);
  return row;
}
