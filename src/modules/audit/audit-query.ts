import type { DataSource } from 'typeorm';
import { AuditLogEntity } from '../../core/audit/audit-log.entity';
import { AppError } from '../../core/errors/app-error';
import { decodeCursor, DEFAULT_PAGE_SIZE, encodeCursor } from '../../core/graphql/connection';
import { isBigintText } from '../../core/graphql/cursor-values';
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

/** Audit cursors are read only by audit listings: a seq is a position in any of them. */
const AUDIT_CURSORS = 'auditLogs';

function cursorSeq(after: string): string {
  const position = decodeCursor(AUDIT_CURSORS, after);
  if (!position?.value || !isBigintText(position.value)) {
    throw new AppError('request.invalid_cursor', { field: 'after' });
  }
  return position.value;
}

/**
 * One page of audit records, newest first. The keyset is `seq`, the insertion order: a cursor keeps
 * its place however many records arrive after the first page, and each step is an index range scan.
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
  if (args.after) page.andWhere('a.seq < CAST(:afterSeq AS bigint)', { afterSeq: cursorSeq(args.after) });
  const records = await page
    .orderBy('a.seq', 'DESC')
    .limit(first + 1)
    .getMany();

  const edges = records
    .slice(0, first)
    .map((record) => ({ record, cursor: encodeCursor(AUDIT_CURSORS, { value: record.seq, id: record.id }) }));
  return {
    edges,
    hasNextPage: records.length > first,
    hasPreviousPage: Boolean(args.after),
    endCursor: edges.at(-1)?.cursor ?? null,
    totalCount: () => filtered().getCount(),
  };
}
