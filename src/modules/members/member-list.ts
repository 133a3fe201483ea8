import type { DataSource } from 'typeorm';
import { decodeCursor, DEFAULT_PAGE_SIZE, encodeCursor } from '../../core/graphql/connection';
import { isTimestampText } from '../../core/graphql/cursor-values';
import { AppError } from '../../core/errors/app-error';
import { isId } from '../../core/ids';
import { MembershipEntity } from './membership.entity';
import { OrderDirection, UserOrderField, type MembersArgs } from './members.inputs';

const anyText = () => true;

/**
 * Each order's SQL expression, the type its cursor value is cast back to, and which values that
 * cast accepts (none of the expressions is ever null).
 */
const SORT: Record<UserOrderField, { expression: string; type: string; accepts: (value: string) => boolean }> = {
  [UserOrderField.EMAIL]: { expression: `lower(coalesce(u.email, ''))`, type: 'text', accepts: anyText },
  [UserOrderField.NAME]: {
    expression: `lower(concat_ws(' ', u.first_name, u.last_name))`,
    type: 'text',
    accepts: anyText,
  },
  [UserOrderField.CREATED_AT]: { expression: 'm.created_at', type: 'timestamptz', accepts: isTimestampText },
  [UserOrderField.LAST_LOGIN_AT]: {
    expression: `coalesce(u.last_login_at, '-infinity'::timestamptz)`,
    type: 'timestamptz',
    accepts: isTimestampText,
  },
};

export type MemberPage = {
  edges: Array<{ cursor: string; membership: MembershipEntity }>;
  hasNextPage: boolean;
  /** Whether the page starts after a cursor. */
  hasPreviousPage: boolean;
  endCursor: string | null;
  /** Counted only when asked for: the same filters, no paging. */
  totalCount: () => Promise<number>;
};

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (character) => `\\${character}`);
}

/**
 * One page of an org's members: keyset pagination over (sort value, membership id), so a cursor
 * keeps its place when rows are inserted before or after it.
 */
export async function listMembers(db: DataSource, orgId: string, args: MembersArgs): Promise<MemberPage> {
  const first = args.first ?? DEFAULT_PAGE_SIZE;
  const order = args.orderBy ?? { field: UserOrderField.EMAIL, direction: OrderDirection.ASC };
  const sort = SORT[order.field];
  // A cursor names a position in one order: another order's cursor is refused, not misread.
  const cursorList = `members:${order.field}:${order.direction}`;
  const filter = args.filter ?? {};

  const filtered = () => {
    const query = db
      .getRepository(MembershipEntity)
      .createQueryBuilder('m')
      .innerJoin('users', 'u', 'u.id = m.user_id')
      .where('m.org_id = :orgId', { orgId });
    if (filter.role) {
      query.innerJoin('roles', 'r', 'r.id = m.role_id');
      // Two parameters: PostgreSQL types one parameter once, and r.id is a uuid while r.key is text.
      if (isId(filter.role)) {
        query.andWhere('(r.id = :roleId OR r.key = :role)', { roleId: filter.role, role: filter.role });
      } else {
        query.andWhere('r.key = :role', { role: filter.role });
      }
    }
    if (filter.status) query.andWhere('m.status = :status', { status: filter.status });
    if (filter.kind) query.andWhere('u.kind = :kind', { kind: filter.kind });
    if (filter.teamId) {
      query.andWhere('EXISTS (SELECT 1 FROM team_members tm WHERE tm.user_id = u.id AND tm.team_id = :teamId)', {
        teamId: isId(filter.teamId) ? filter.teamId : null,
      });
    }
    if (filter.groupId) {
      query.andWhere('EXISTS (SELECT 1 FROM group_members gm WHERE gm.user_id = u.id AND gm.group_id = :groupId)', {
        groupId: isId(filter.groupId) ? filter.groupId : null,
      });
    }
    if (filter.search?.trim()) {
      query.andWhere(
        `(lower(coalesce(u.email, '')) LIKE :pattern ESCAPE '\\' OR lower(concat_ws(' ', u.first_name, u.last_name)) LIKE :pattern ESCAPE '\\')`,
        { pattern: `%${escapeLike(filter.search.trim().toLowerCase())}%` },
      );
    }
    return query;
  };

  const page = filtered().addSelect(`(${sort.expression})::text`, 'sort_value');
  if (args.after) {
    const position = decodeCursor(cursorList, args.after);
    if (position?.value == null || !sort.accepts(position.value)) {
      throw new AppError('request.invalid_cursor', { field: 'after' });
    }
    const comparison = order.direction === OrderDirection.ASC ? '>' : '<';
    page.andWhere(
      `(${sort.expression}, m.id) ${comparison} (CAST(:cursorValue AS ${sort.type}), CAST(:cursorId AS uuid))`,
      {
        cursorValue: position.value,
        cursorId: position.id,
      },
    );
  }
  page
    .orderBy(sort.expression, order.direction)
    .addOrderBy('m.id', order.direction)
    .limit(first + 1);

  const { entities, raw } = await page.getRawAndEntities<{ sort_value: string | null }>();
  const edges = entities.slice(0, first).map((membership, index) => ({
    membership,
    cursor: encodeCursor(cursorList, { value: raw[index].sort_value, id: membership.id }),
  }));
  return {
    edges,
    hasNextPage: entities.length > first,
    hasPreviousPage: Boolean(args.after),
    endCursor: edges.at(-1)?.cursor ?? null,
    totalCount: () => filtered().getCount(),
  };
}
