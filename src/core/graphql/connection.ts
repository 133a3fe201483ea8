import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
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
type PageShape = {
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

/** A keyset position: the row's sort value (as text) and its id. */
export type KeysetPosition = { value: string | null; id: string };

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Far longer than any cursor this gateway issues; anything longer is not one. */
const MAX_CURSOR_LENGTH = 2048;

/** Replaced at start-up (useCursorSecret); random until then, for code that runs without a gateway. */
let cursorKey: Buffer = randomBytes(32);

/**
 * Cursors are sealed (AES-256-GCM) under a key derived from the gateway's secret, so every process
 * sharing the secret reads every other's cursors. One key per process: a process serves one gateway.
 */
export function useCursorSecret(secret: string): void {
  cursorKey = Buffer.from(hkdfSync('sha256', secret, 'portcullis', 'cursors', 32));
}

/**
 * Random IVs drawn in bulk: a page seals a cursor per row, and a draw from the system's random
 * source per cursor cost about as much as the seal itself.
 */
const IV_POOL_SIZE = IV_BYTES * 512;
let ivPool = Buffer.alloc(0);
let ivOffset = 0;

/** A fresh random IV; each slice of the pool is handed out once, so no IV repeats. */
function nextIv(): Buffer {
  if (ivOffset + IV_BYTES > ivPool.length) {
    ivPool = randomBytes(IV_POOL_SIZE);
    ivOffset = 0;
  }
  const iv = ivPool.subarray(ivOffset, ivOffset + IV_BYTES);
  ivOffset += IV_BYTES;
  return iv;
}

/**
 * Cursors are opaque: the position, sealed with the kind of list as authenticated data. A client can
 * neither read a position (an audit cursor's seq would count every org's activity) nor forge one,
 * and a cursor of one kind of list is refused by another.
 */
export function encodeCursor(list: string, position: KeysetPosition): string {
  const iv = nextIv();
  const cipher = createCipheriv('aes-256-gcm', cursorKey, iv);
  cipher.setAAD(Buffer.from(list, 'utf8'));
  const body = Buffer.concat([cipher.update(JSON.stringify([position.value, position.id]), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
}

/**
 * The position a cursor of `list` names, or null for anything this gateway did not issue for that
 * kind of list. The value is checked again (text the database can take, a uuid id); each listing
 * checks it against its sort.
 */
export function decodeCursor(list: string, cursor: string): KeysetPosition | null {
  try {
    if (cursor.length > MAX_CURSOR_LENGTH) return null;
    const packed = Buffer.from(cursor, 'base64url');
    if (packed.length <= IV_BYTES + TAG_BYTES) return null;
    const decipher = createDecipheriv('aes-256-gcm', cursorKey, packed.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(list, 'utf8'));
    decipher.setAuthTag(packed.subarray(packed.length - TAG_BYTES));
    const body = packed.subarray(IV_BYTES, packed.length - TAG_BYTES);
    const decoded: unknown = JSON.parse(Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8'));
    if (!Array.isArray(decoded) || decoded.length !== 2) return null;
    const [value, id] = decoded;
    if ((value !== null && (typeof value !== 'string' || !isSafeText(value))) || !isId(id)) return null;
    return { value, id };
  } catch {
    return null;
  }
}
