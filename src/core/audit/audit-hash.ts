import { createHash } from 'node:crypto';

/** The fields a record's hash covers: everything it says, plus the hash of the record before it. */
/**
 * The audit_logs columns under the names HashedAuditContent uses, with created_at rendered exactly
 * as the application wrote and hashed it (UTC, milliseconds) whatever the session time zone.
 */
export const AUDIT_RECORD_COLUMNS = `
  id, seq::text AS "seq", org_id AS "orgId", actor_id AS "actorId", actor_kind AS "actorKind",
  api_key_id AS "apiKeyId", action, target_type AS "targetType", target_id AS "targetId",
  ip_address AS "ipAddress", user_agent AS "userAgent", request_id AS "requestId", changes,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt",
  prev_hash AS "prevHash", hash`;

export type HashedAuditContent = {
  id: string;
  orgId: string | null;
  actorId: string | null;
  actorKind: string;
  apiKeyId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  ipAddress: string | null;
  userAgent: string | null;
  requestId: string | null;
  changes: Record<string, unknown> | null;
  /** ISO 8601 with millisecond precision, exactly as stored (timestamptz keeps microseconds). */
  createdAt: string;
  prevHash: string | null;
};

/**
 * JSON with object keys sorted at every depth, so the text does not depend on key order: jsonb
 * hands `changes` back with its keys reordered.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, inner]) => inner !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${canonicalJson(inner)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** SHA-256 (hex) of the canonical JSON of a record's content and its predecessor's hash. */
export function auditRecordHash(content: HashedAuditContent): string {
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}
