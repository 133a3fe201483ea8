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

@ObjectType('PageInfo')
export class PageInfoType {
  @Field()
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
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
