import { Max, Min } from 'class-validator';
import { isObjectType, type GraphQLNamedType } from 'graphql';
import { ArgsType, Field, Int, ObjectType } from 'type-graphql';
import { isId } from '../ids';
import { isSafeText } from './safe-text';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** Whether a schema type is a connection: a page of edges and its page info. */
export function isConnection(type: GraphQLNamedType): boolean {
  if (!isObjectType(type)) return false;
  const fields = type.getFields();
  return 'edges' in fields && 'pageInfo' in fields;
}

@ArgsType()
export class PageArgs {
  @Field(() => Int, { nullable: true, description: `Page size, 1 to ${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE}).` })
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  first?: number;

  @Field(() => String, { nullable: true, description: 'The endCursor of the previous page.' })
  after?: string | null;
}

@ObjectType('PageInfo', { description: 'Forward paging: pass endCursor as `after` while hasNextPage.' })
export class PageInfoType {
  @Field()
  hasNextPage!: boolean;

  @Field({ description: 'True when the page starts after a cursor (`after` was given).' })
  hasPreviousPage!: boolean;

  @Field(() => String, { nullable: true })
  startCursor!: string | null;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

/** A page of edges as a listing read it: whether more follow, and whether it starts after a cursor. */
export type PageShape = {
  edges: ReadonlyArray<{ cursor: string }>;
  hasNextPage: boolean;
  hasPreviousPage: boolean;
};

export function pageInfoFrom(page: PageShape): PageInfoType {
  return {
    hasNextPage: page.hasNextPage,
    hasPreviousPage: page.hasPreviousPage,
    startCursor: page.edges[0]?.cursor ?? null,
    endCursor: page.edges.at(-1)?.cursor ?? null,
  };
}

/** Cursors are opaque to clients: a keyset position (sort value and id), base64url-encoded JSON. */
export type KeysetPosition = { value: string | null; id: string };

export function encodeCursor(position: KeysetPosition): string {
  return Buffer.from(JSON.stringify([position.value, position.id])).toString('base64url');
}

/**
 * The position a cursor names, or null for anything this gateway did not issue: the id is a uuid and
 * the value text that can be sent to the database. Each listing checks the value against its sort.
 */
export function decodeCursor(cursor: string): KeysetPosition | null {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(decoded) || decoded.length !== 2) return null;
    const [value, id] = decoded;
    if ((value !== null && (typeof value !== 'string' || !isSafeText(value))) || !isId(id)) return null;
    return { value, id };
  } catch {
    return null;
  }
}

/**
 * A cursor of a keyset list (see keyset-pages.ts): the list's kind, so that a cursor of another
 * list is refused rather than read as a position in this one, then the sort value and the id.
 */
export function encodeListCursor(kind: string, position: { value: string; id: string }): string {
  return Buffer.from(JSON.stringify([kind, position.value, position.id])).toString('base64url');
}

/** The position a cursor of list `kind` names, or null for anything else. */
export function decodeListCursor(kind: string, cursor: string): { value: string; id: string } | null {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(decoded) || decoded.length !== 3) return null;
    const [cursorKind, value, id] = decoded;
    if (cursorKind !== kind || typeof value !== 'string' || !isSafeText(value) || !isId(id)) return null;
    return { value, id };
  } catch {
    return null;
  }
}
