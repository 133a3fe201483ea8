import type { DataSource } from 'typeorm';
import type { ListReads } from '../../core/context/context';
import { entityRowShape } from '../../core/db/entity-rows';
import { decodeCursor, DEFAULT_PAGE_SIZE, encodeCursor } from '../../core/graphql/connection';
import { isTimestampText } from '../../core/graphql/cursor-values';
import { AppError } from '../../core/errors/app-error';
import { isId } from '../../core/ids';
import { RoleEntity } from '../roles/role.entity';
import { UserEntity } from '../users/user.entity';
import { MembershipEntity } from './membership.entity';
import { OrderDirection, UserOrderField, type MembersArgs, type UserFilter } from './members.inputs';

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

/** What a member page read with each membership: its user and role, handed to the row's fields as they are. */
export type ListedWith = { user: UserEntity; role: RoleEntity };

/**
 * The user and role each listed membership came with, by the membership object the page created
 * (so nothing outlives the request that read it): `Membership.user` and `.role` answer from it at
 * once, with no loader promise per row.
 */
const listedWith = new WeakMap<object, ListedWith>();

export function listedWithOf(membership: object): ListedWith | undefined {
  return listedWith.get(membership);
}

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

/** A WHERE clause and its parameters, numbered as they are added. */
class Conditions {
  readonly parts: string[] = [];
  readonly params: unknown[] = [];

  param(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  add(condition: string): void {
    this.parts.push(condition);
  }

  get sql(): string {
    return this.parts.join(' AND ');
  }
}

/** The org and the filters, for the page and for its count alike. */
function filterConditions(orgId: string, filter: UserFilter): Conditions {
  const where = new Conditions();
  where.add(`m.org_id = ${where.param(orgId)}`);
  if (filter.role) {
    // Two parameters: PostgreSQL types one parameter once, and r.id is a uuid while r.key is text.
    where.add(
      isId(filter.role)
        ? `(r.id = ${where.param(filter.role)} OR r.key = ${where.param(filter.role)})`
        : `r.key = ${where.param(filter.role)}`,
    );
  }
  if (filter.status) where.add(`m.status = ${where.param(filter.status)}`);
  if (filter.kind) where.add(`u.kind = ${where.param(filter.kind)}`);
  if (filter.teamId) {
    const teamId = where.param(isId(filter.teamId) ? filter.teamId : null);
    where.add(`EXISTS (SELECT 1 FROM team_members tm WHERE tm.user_id = u.id AND tm.team_id = ${teamId})`);
  }
  if (filter.groupId) {
    const groupId = where.param(isId(filter.groupId) ? filter.groupId : null);
    where.add(`EXISTS (SELECT 1 FROM group_members gm WHERE gm.user_id = u.id AND gm.group_id = ${groupId})`);
  }
  if (filter.search?.trim()) {
    const pattern = where.param(`%${escapeLike(filter.search.trim().toLowerCase())}%`);
    where.add(
      `(lower(coalesce(u.email, '')) LIKE ${pattern} ESCAPE '\\' OR lower(concat_ws(' ', u.first_name, u.last_name)) LIKE ${pattern} ESCAPE '\\')`,
    );
  }
  return where;
}

/** Every row joins its user and role: a filter by role reads it, and each row's fields answer from it. */
const FROM = 'FROM memberships m JOIN users u ON u.id = m.user_id JOIN roles r ON r.id = m.role_id';

/** The page's columns, written once per data source: the membership, its user and its role. */
const columnLists = new WeakMap<DataSource, string>();

function pageColumns(db: DataSource): string {
  let columns = columnLists.get(db);
  if (!columns) {
    columns = [
      entityRowShape(db, MembershipEntity).select('m', 'm_'),
      entityRowShape(db, UserEntity).select('u', 'u_'),
      entityRowShape(db, RoleEntity).select('r', 'r_'),
    ].join(', ');
    columnLists.set(db, columns);
  }
  return columns;
}

/**
 * One page of an org's members: keyset pagination over (sort value, membership id), so a cursor
 * keeps its place when rows are inserted before or after it. One statement, written here rather
 * than by TypeORM's query builder (which cost more CPU than the rows), brings each row's
 * membership, user and role; they are read from the row rather than hydrated by TypeORM, handed to
 * the loaders of the data source that read them and kept with the row: a page costs one statement
 * whatever its size, and the user and role of each row none. A role is read once per page, however
 * many rows hold it. From a replica (ListReads), the primary's loaders learn nothing from the page:
 * each listed user's visibility is then read there.
 */
export async function listMembers({ db, loaders }: ListReads, orgId: string, args: MembersArgs): Promise<MemberPage> {
  const first = args.first ?? DEFAULT_PAGE_SIZE;
  const order = args.orderBy ?? { field: UserOrderField.EMAIL, direction: OrderDirection.ASC };
  const sort = SORT[order.field];
  // A cursor names a position in one order: another order's cursor is refused, not misread.
  const cursorList = `members:${order.field}:${order.direction}`;
  const filter = args.filter ?? {};

  const where = filterConditions(orgId, filter);
  if (args.after) {
    const position = decodeCursor(cursorList, args.after);
    if (position?.value == null || !sort.accepts(position.value)) {
      throw new AppError('request.invalid_cursor', { field: 'after' });
    }
    const comparison = order.direction === OrderDirection.ASC ? '>' : '<';
    const value = where.param(position.value);
    const id = where.param(position.id);
    where.add(`(${sort.expression}, m.id) ${comparison} (CAST(${value} AS ${sort.type}), CAST(${id} AS uuid))`);
  }
  const direction = order.direction === OrderDirection.ASC ? 'ASC' : 'DESC';
  const limit = where.param(first + 1);
  const rows: Array<Record<string, unknown>> = await db.query(
    `SELECT ${pageColumns(db)}, (${sort.expression})::text AS sort_value ${FROM} WHERE ${where.sql}
      ORDER BY ${sort.expression} ${direction}, m.id ${direction} LIMIT ${limit}`,
    where.params,
  );

  const membershipRow = entityRowShape(db, MembershipEntity);
  const userRow = entityRowShape(db, UserEntity);
  const roleRow = entityRowShape(db, RoleEntity);
  const roles = new Map<string, RoleEntity>();
  const listed = loaders.listedMemberOrgs;
  const edges = rows.slice(0, first).map((row) => {
    const membership = membershipRow.read(row, 'm_');
    const user = userRow.read(row, 'u_');
    loaders.userById.prime(membership.userId, user);
    let role = roles.get(membership.roleId);
    if (!role) {
      roles.set(membership.roleId, (role = roleRow.read(row, 'r_')));
      loaders.roleById.prime(role.id, role);
    }
    listedWith.set(membership, { user, role });
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
    totalCount: async () => {
      const counted = filterConditions(orgId, filter);
      const [{ count }]: Array<{ count: string }> = await db.query(
        `SELECT count(*) AS count ${FROM} WHERE ${counted.sql}`,
        counted.params,
      );
      return Number(count);
    },
  };
}
