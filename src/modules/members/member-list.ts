import type { DataSource } from 'typeorm';
import { entityRowShape } from '../../core/db/entity-rows';
import { decodeCursor, DEFAULT_PAGE_SIZE, encodeCursor } from '../../core/graphql/connection';
import { isTimestampText } from '../../core/graphql/cursor-values';
import { AppError } from '../../core/errors/app-error';
import { isId } from '../../core/ids';
import type { Loaders } from '../../loaders';
import { UserEntity } from '../users/user.entity';
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

/**
 * One row of a member page. Its cursor is sealed (AES-GCM) only when a client asks for it: a page
 * of a hundred rows whose cursors nobody reads seals none.
 */
export class MemberEdge {
  constructor(
    readonly membership: MembershipEntity,
    private readonly list: string,
    private readonly sortValue: string | null,
  ) {}

  get node(): MembershipEntity {
    return this.membership;
  }

  get cursor(): string {
    return encodeCursor(this.list, { value: this.sortValue, id: this.membership.id });
  }
}

export type MemberPage = {
  edges: MemberEdge[];
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
 * keeps its place when rows are inserted before or after it. The page's users come in the same
 * statement, read from the row rather than hydrated by TypeORM, and are handed to the request's
 * loaders: a page costs one statement whatever its size, and the user of each row none. Roles are
 * left to roleById, one batch for the page: an org has a handful, and reading one with every row
 * would parse its permission list a hundred times.
 */
export async function listMembers(
  db: DataSource,
  loaders: Loaders,
  orgId: string,
  args: MembersArgs,
): Promise<MemberPage> {
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

  const membershipRow = entityRowShape(db, MembershipEntity);
  const userRow = entityRowShape(db, UserEntity);
  const page = filtered()
    .select(membershipRow.select('m', 'm_'))
    .addSelect(userRow.select('u', 'u_'))
    .addSelect(`(${sort.expression})::text`, 'sort_value');
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

  const rows = await page.getRawMany<Record<string, unknown>>();
  const listed = loaders.listedMemberOrgs;
  const edges = rows.slice(0, first).map((row) => {
    const membership = membershipRow.read(row, 'm_');
    loaders.userById.prime(membership.userId, userRow.read(row, 'u_'));
    let orgs = listed.get(membership.userId);
    if (!orgs) listed.set(membership.userId, (orgs = new Set()));
    orgs.add(orgId);
    return new MemberEdge(membership, cursorList, row.sort_value as string);
  });
  return {
    edges,
    hasNextPage: rows.length > first,
    hasPreviousPage: Boolean(args.after),
    endCursor: edges.at(-1)?.cursor ?? null,
    totalCount: () => filtered().getCount(),
  };
}
