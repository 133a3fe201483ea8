import { AUDIT_RECORD_COLUMNS } from '../../core/audit/audit-hash';
import { linkCommittedRecords } from '../../core/audit/chainer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { stringify } from 'csv-stringify/sync';
import type { DataSource } from 'typeorm';
import { isDatabaseUnavailable } from '../../core/db/pg-errors';
import type { ErrorKey } from '../../core/errors/error-codes';
import { RETRY_AFTER_OUTAGE_SECONDS } from '../../core/errors/service-unavailable';
import { bearerToken } from '../../core/http/client-info';
import { isId } from '../../core/ids';
import { isDeletedOrg } from '../orgs/deleted-orgs';
import { CallerAccess } from '../../core/permissions/caller-access';
import { createLoaders } from '../../loaders';
import type { Authenticate } from '../resources/forward-auth';
import { neutraliseFormula } from '../user-import/formula-cells';
import { writeWithBackpressure } from './response-writer';

export const EXPORT_FORMATS = {
  ndjson: 'application/x-ndjson',
  csv: 'text/csv; charset=utf-8',
} as const;

export type ExportFormat = keyof typeof EXPORT_FORMATS;

export const EXPORT_COLUMNS = [
  'id',
  'seq',
  'orgId',
  'actorId',
  'actorKind',
  'apiKeyId',
  'action',
  'targetType',
  'targetId',
  'ipAddress',
  'userAgent',
  'requestId',
  'changes',
  'createdAt',
  'prevHash',
  'hash',
  'eventId',
  'subjectUserId',
  'chainSeq',
] as const;

export type ExportedRecord = Record<Exclude<(typeof EXPORT_COLUMNS)[number], 'changes'>, string | null> & {
  changes: Record<string, unknown> | null;
};

/** What the caller asked for, once authorised: `orgId` null means every org (super users only). */
export type AuditExportQuery = { orgId: string | null; since: Date | null; until: Date | null; format: ExportFormat };

export type AuditExportAnswer =
  | { status: 400 | 401 | 403 | 404 | 503; error: ErrorKey; field?: string; headers?: Record<string, string> }
  | { status: 200; headers: Record<string, string>; write(res: ServerResponse): Promise<void> };

/** Rows per query: small enough to keep memory flat, large enough that round trips stay cheap. */
export const EXPORT_BATCH_SIZE = 1000;

/** A date (`2025-01-31`, UTC midnight) or a date-time with a zone; never a local time. */
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/i;

/** Date.parse rolls impossible days over (Feb 30 is read as Mar 2): the calendar date must exist. */
function isCalendarDate(value: string): boolean {
  const [year, month, day] = value.slice(0, 10).split('-').map(Number);
  return new Date(Date.UTC(year, month - 1, day)).getUTCDate() === day;
}

function parseTimestamp(value: string | null): Date | null | 'invalid' {
  if (value === null) return null;
  const time = ISO_TIMESTAMP.test(value) && isCalendarDate(value) ? Date.parse(value) : NaN;
  return Number.isNaN(time) ? 'invalid' : new Date(time);
}

/**
 * `GET /audit/export?orgId=&since=&until=&format=ndjson|csv`: authenticated and authorised as the
 * `auditLogs` query is (audit:read in the org; no org only for super users; an org the caller
 * cannot see is not found). Authorisation happens before the first byte, so a refusal is a plain
 * error response, and so is a database outage (503, not a refusal); the accepted answer streams.
 */
export async function auditExport(
  req: IncomingMessage,
  url: URL,
  ipAddress: string | null,
  db: DataSource,
  authenticate: Authenticate,
): Promise<AuditExportAnswer> {
  try {
    return await authorisedExport(req, url, ipAddress, db, authenticate);
  } catch (error) {
    if (!isDatabaseUnavailable(error)) throw error;
    return {
      status: 503,
      error: 'service.unavailable',
      headers: { 'retry-after': String(RETRY_AFTER_OUTAGE_SECONDS) },
    };
  }
}

async function authorisedExport(
  req: IncomingMessage,
  url: URL,
  ipAddress: string | null,
  db: DataSource,
  authenticate: Authenticate,
): Promise<AuditExportAnswer> {
  const bearer = bearerToken(req);
  const principal = bearer.token ? await authenticate(bearer.token, ipAddress) : null;
  if (!principal) {
    const error = bearer.present ? 'auth.invalid_token' : 'auth.unauthenticated';
    return { status: 401, error, headers: { 'www-authenticate': 'Bearer' } };
  }

  const params = url.searchParams;
  const format = params.get('format') ?? 'ndjson';
  if (!Object.hasOwn(EXPORT_FORMATS, format)) return { status: 400, error: 'request.invalid_input', field: 'format' };
  const since = parseTimestamp(params.get('since'));
  if (since === 'invalid') return { status: 400, error: 'request.invalid_input', field: 'since' };
  const until = parseTimestamp(params.get('until'));
  if (until === 'invalid') return { status: 400, error: 'request.invalid_input', field: 'until' };

  const orgId = params.get('orgId') || null;
  const loaders = createLoaders(db);
  const access = new CallerAccess(
    () => principal,
    () => loaders,
  );
  if (orgId === null) {
    if (!access.isSuperUser) return { status: 400, error: 'audit.org_required', field: 'orgId' };
  } else if (!(access.isSuperUser && (await isDeletedOrg(db, orgId)))) {
    // A deleted org's chain stays exportable by super users, as auditLogs and verifyAuditChain are.
    if (!isId(orgId) || !(await access.canSeeOrg(orgId))) return { status: 404, error: 'org.not_found' };
    if (!(await access.can(orgId, 'audit:read'))) {
      return { status: 403, error: (await access.refusal(orgId)).key };
    }
  }

  const query: AuditExportQuery = { orgId, since, until, format: format as ExportFormat };
  // Everything committed so far is linked first, so the export holds it in chain order. Read
  // before the status is sent: a database that is down answers 503, not a 200 cut short.
  await linkCommittedRecords(db);
  const firstBatch = await readBatch(db, query, LINKED_FROM_START);
  const filename = `audit-${orgId ?? 'all'}-${new Date().toISOString().slice(0, 10)}.${query.format}`;
  return {
    status: 200,
    headers: {
      'content-type': EXPORT_FORMATS[query.format],
      'content-disposition': `attachment; filename="${filename}"`,
      'cache-control': 'no-store',
    },
    write: (res) => streamAuditRecords(db, query, firstBatch, res),
  };
}

/** Where a batch starts: linked records after a chain position, then unlinked ones after a seq. */
type Position = { linked: boolean; after: string };

const LINKED_FROM_START: Position = { linked: true, after: '0' };

/**
 * `createdAt` rendered as the application wrote it (UTC, milliseconds), the form the hash covers.
 * Linked records come in chain order (`chain_seq`), then the few not linked yet in insertion order
 * (`seq`). ORDER BY names the table column: the text aliases would otherwise sort "10" before "9".
 */
function selectBatch(query: AuditExportQuery, position: Position): { sql: string; filters: unknown[] } {
  const filters: unknown[] = [];
  const conditions: string[] = [];
  if (query.orgId !== null) conditions.push(`org_id = $${filters.push(query.orgId)}`);
  if (query.since) conditions.push(`created_at >= $${filters.push(query.since)}`);
  if (query.until) conditions.push(`created_at < $${filters.push(query.until)}`);
  // The keyset position comes last, after the filters, and changes with every batch.
  const order = position.linked ? 'chain_seq' : 'seq';
  conditions.push(position.linked ? 'chain_seq IS NOT NULL' : 'chain_seq IS NULL', `${order} > $${filters.length + 1}`);
  const sql = `
    SELECT ${AUDIT_RECORD_COLUMNS}
      FROM audit_logs
     WHERE ${conditions.join(' AND ')}
     ORDER BY audit_logs.${order}
     LIMIT ${EXPORT_BATCH_SIZE}`;
  return { sql, filters };
}

async function readBatch(db: DataSource, query: AuditExportQuery, position: Position): Promise<ExportedRecord[]> {
  const { sql, filters } = selectBatch(query, position);
  const batch: ExportedRecord[] = await db.query(sql, [...filters, position.after]);
  // The linked records are all read: the unlinked ones follow in the same batch.
  if (position.linked && batch.length < EXPORT_BATCH_SIZE) {
    return [...batch, ...(await readBatch(db, query, { linked: false, after: '0' }))];
  }
  return batch;
}

/** Where the batch after this one starts. */
function nextPosition(batch: ExportedRecord[]): Position {
  const last = batch[batch.length - 1];
  return last.chainSeq !== null ? { linked: true, after: last.chainSeq } : { linked: false, after: last.seq as string };
}

/**
 * Writes the records in chain order (oldest first), then those not linked yet (hash null), so a
 * consumer can recompute each hash from its predecessor. Keyset batches and waiting for `drain`
 * keep memory constant however large the range; no connection is held between batches; a client
 * that hangs up stops the reads.
 */
async function streamAuditRecords(
  db: DataSource,
  query: AuditExportQuery,
  firstBatch: ExportedRecord[],
  res: ServerResponse,
): Promise<void> {
  let batch = firstBatch;
  let isFirstBatch = true;
  for (;;) {
    const chunk = query.format === 'csv' ? csvChunk(batch, isFirstBatch) : ndjsonChunk(batch);
    if (!(await writeWithBackpressure(res, chunk))) return;
    if (batch.length < EXPORT_BATCH_SIZE) break;
    batch = await readBatch(db, query, nextPosition(batch));
    isFirstBatch = false;
  }
  res.end();
}

function ndjsonChunk(batch: ExportedRecord[]): string {
  return batch.map((record) => `${JSON.stringify(record)}\n`).join('');
}

/** RFC 4180 like the member export: CRLF records, `changes` as JSON text, formulas neutralised. */
function csvChunk(batch: ExportedRecord[], withHeader: boolean): string {
  return stringify(batch.map(toCsvCells), {
    header: withHeader,
    columns: [...EXPORT_COLUMNS],
    record_delimiter: 'windows',
    // csv-stringify quotes a field holding its own record delimiter (CRLF) but not a lone CR or LF.
    quoted_match: /[\r\n]/,
  });
}

function toCsvCells(record: ExportedRecord): Record<string, string> {
  return Object.fromEntries(
    EXPORT_COLUMNS.map((column) => {
      const value = column === 'changes' ? record.changes && JSON.stringify(record.changes) : record[column];
      return [column, neutraliseFormula(value ?? '')];
    }),
  );
}
