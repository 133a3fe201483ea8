import type { DataSource } from 'typeorm';
import { AuditLogEntity } from '../../core/audit/audit-log.entity';
import { AppError } from '../../core/errors/app-error';
import { decodeCursor, DEFAULT_PAGE_SIZE, encodeCursor } from '../../core/graphql/connection';
import { isBigintText, isTimestampText } from '../../core/graphql/cursor-values';
import { isId } from '../../core/ids';
import type { AuditLogFilter } from './audit.inputs';

/**
 * Whose records a listing may show: the orgs it covers ('all' only for super users, the account
 * chain included), one actor or one subject. `oneRowPerEvent` shows an event recorded in several
 * visible chains once, by its first record (the lowest seq among those the scope covers).
 */
export type AuditScope = {
  orgIds: readonly string[] | 'all';
  actorId?: string;
  subjectUserId?: string;
  oneRowPerEvent?: boolean;
};

export type AuditPageArgs = { first?: number; after?: string | null; filter?: AuditLogFilter | null };

export type AuditPage = {
  edges: Array<{ cursor: string; record: AuditLogEntity }>;
  hasNextPage: boolean;
  /** Whether the page starts after a cursor. */
  hasPreviousPage: boolean;
  endCursor: string | null;
  /** Counted only when asked for: the same scope and filters, no paging. */
  totalCount: () => Promise<number>;
};

const emptyPage = (args: AuditPageArgs): AuditPage => ({
  edges: [],
  hasNextPage: false,
  hasPreviousPage: Boolean(args.after),
  endCursor: null,
  totalCount: async () => 0,
});

/** Audit cursors are read only by audit listings: (created_at, seq) is a position in any of them. */
const AUDIT_CURSORS = 'auditLogs';

type AuditPosition = { createdAt: string; seq: string };

/** A cursor's value is `<seq> <created_at as PostgreSQL writes it>`; its id is the record's. */
function cursorValue(position: AuditPosition): string {
  return `${position.seq} ${position.createdAt}`;
}

function cursorPosition(after: string): AuditPosition {
  const value = decodeCursor(AUDIT_CURSORS, after)?.value ?? '';
  const separator = value.indexOf(' ');
  const position = { seq: value.slice(0, separator), createdAt: value.slice(separator + 1) };
  if (separator < 0 || !isBigintText(position.seq) || !isTimestampText(position.createdAt)) {
    throw new AppError('request.invalid_cursor', { field: 'after' });
  }
  return position;
}

/**
 * One page of audit records, newest first by (created_at, seq): both are known when a record is
 * inserted, so it is listed as soon as it commits, before the chainer links it. The keyset keeps a
 * cursor's place however many records arrive after the first page, and every filter, a time window
 * included, is one range of an index ending in (created_at, seq) (migration 1796457600000), read in
 * page order: a page costs the same whatever the number of records.
 */
export async function listAuditLogs(db: DataSource, scope: AuditScope, args: AuditPageArgs): Promise<AuditPage> {
  if (scope.orgIds !== 'all' && scope.orgIds.length === 0) return emptyPage(args);
  const first = args.first ?? DEFAULT_PAGE_SIZE;
  const filter = args.filter ?? {};
  // An id of the wrong shape names nobody, like an unknown id: no records rather than an error.
  if ((filter.actorId && !isId(filter.actorId)) || (filter.subjectUserId && !isId(filter.subjectUserId))) {
    return emptyPage(args);
  }

  const filtered = () => {
    const query = db.getRepository(AuditLogEntity).createQueryBuilder('a').where('TRUE');
    if (scope.orgIds !== 'all') query.andWhere('a.org_id IN (:...orgIds)', { orgIds: scope.orgIds });
    if (scope.actorId) query.andWhere('a.actor_id = :scopeActorId', { scopeActorId: scope.actorId });
    if (scope.subjectUserId)
      query.andWhere('a.subject_user_id = :scopeSubjectId', { scopeSubjectId: scope.subjectUserId });
    if (scope.oneRowPerEvent) {
      const visible = scope.orgIds === 'all' ? '' : 'AND b.org_id IN (:...orgIds)';
      query.andWhere(
        `NOT EXISTS (SELECT 1 FROM audit_logs b WHERE b.event_id = a.event_id AND b.seq < a.seq ${visible})`,
      );
    }
    if (filter.subjectUserId)
      query.andWhere('a.subject_user_id = :subjectUserId', { subjectUserId: filter.subjectUserId });
    if (filter.actorId) query.andWhere('a.actor_id = :actorId', { actorId: filter.actorId });
    if (filter.action) query.andWhere('a.action = :action', { action: filter.action });
    if (filter.targetType) query.andWhere('a.target_type = :targetType', { targetType: filter.targetType });
    if (filter.targetId) query.andWhere('a.target_id = :targetId', { targetId: filter.targetId });
    if (filter.since) query.andWhere('a.created_at >= :since', { since: filter.since });
    if (filter.until) query.andWhere('a.created_at < :until', { until: filter.until });
    return query;
  };

  const page = filtered();
  if (args.after) {
    const after = cursorPosition(args.after);
    page.andWhere('(a.created_at, a.seq) < (CAST(:afterTime AS timestamptz), CAST(:afterSeq AS bigint))', {
      afterTime: after.createdAt,
      afterSeq: after.seq,
    });
  }
  // created_at as PostgreSQL writes it (microseconds, with its offset): a Date would round it.
  const { entities: records, raw } = await page
    .addSelect('a.created_at::text', 'position_time')
    .orderBy('a.created_at', 'DESC')
    .addOrderBy('a.seq', 'DESC')
    .limit(first + 1)
    .getRawAndEntities<{ position_time: string }>();

  const edges = records.slice(0, first).map((record, index) => ({
    record,
    cursor: encodeCursor(AUDIT_CURSORS, {
      value: cursorValue({ seq: record.seq, createdAt: raw[index].position_time }),
      id: record.id,
    }),
  }));
  return {
    edges,
    hasNextPage: records.length > first,
    hasPreviousPage: Boolean(args.after),
    endCursor: edges.at(-1)?.cursor ?? null,
    totalCount: () => filtered().getCount(),
  };
}
