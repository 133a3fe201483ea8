import { createHash } from 'node:crypto';

/**
 * The audit_logs columns under the names HashedAuditContent uses, with created_at rendered exactly
 * as the application wrote and hashed it (UTC, milliseconds) whatever the session time zone. The
 * NDJSON export writes these very rows, so its lines hold the hashed fields under the same names.
 * `seq` is the insertion order; `chainSeq` the record's place in its chain (null, like `hash`,
 * until the chainer links it); neither is hashed.
 */
export const AUDIT_RECORD_COLUMNS = `
  id, seq::text AS "seq", org_id AS "orgId", actor_id AS "actorId", actor_kind AS "actorKind",
  api_key_id AS "apiKeyId", action, target_type AS "targetType", target_id AS "targetId",
  ip_address AS "ipAddress", user_agent AS "userAgent", request_id AS "requestId", changes,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt",
  prev_hash AS "prevHash", hash, event_id AS "eventId", subject_user_id AS "subjectUserId",
  chain_seq::text AS "chainSeq"`;

/**
 * The fields a record's hash covers: everything it says, plus the hash of the record before it.
 * Absent values are null, never left out, except `eventId` and `subjectUserId`: records written
 * before those columns existed hold null there and were hashed without them, so a null one is left
 * out and those records still verify. `seq`, `chainSeq` and the record's own `hash` are not covered.
 */
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
  eventId?: string | null;
  subjectUserId?: string | null;
};

/** A UTF-16 surrogate without its partner: `u` makes a well-formed pair one code point, so it never matches. */
const LONE_SURROGATE = /\p{Cs}/u;

function canonicalString(text: string): string {
  if (LONE_SURROGATE.test(text)) throw new TypeError('RFC 8785: a string holds a lone surrogate, which is not I-JSON');
  return JSON.stringify(text);
}

/**
 * RFC 8785 (JCS): object members sorted by their names' UTF-16 code units at every depth, strings
 * and numbers as ECMAScript's JSON.stringify writes them, no whitespace; so the text does not
 * depend on key order (jsonb hands `changes` back with its keys reordered). Values outside I-JSON
 * (a lone surrogate, NaN, Infinity), which PostgreSQL could not store either, are refused rather
 * than written in a form that no other JCS implementation would reproduce.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, inner]) => inner !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, inner]) => `${canonicalString(key)}:${canonicalJson(inner)}`).join(',')}}`;
  }
  if (typeof value === 'string') return canonicalString(value);
  if (typeof value === 'number' && !Number.isFinite(value))
    throw new TypeError(`RFC 8785: ${value} is not a number JSON can hold`);
  return JSON.stringify(value ?? null);
}

/** SHA-256 (lowercase hex) of the UTF-8 bytes of the canonical JSON of a record's hashed fields. */
export function auditRecordHash({ eventId, subjectUserId, ...content }: HashedAuditContent): string {
  const hashed = { ...content, eventId: eventId ?? undefined, subjectUserId: subjectUserId ?? undefined };
  return createHash('sha256').update(canonicalJson(hashed), 'utf8').digest('hex');
}
