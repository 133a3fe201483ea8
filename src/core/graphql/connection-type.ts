import { Field, Int, ObjectType, type ClassType } from 'type-graphql';
import { PageInfoType, pageInfoFrom } from './connection';
import type { KeysetPage } from './keyset-pages';

const madeTypeNames: string[] = [];

/**
 * The connection and edge types `connectionType` made. They carry no data of their own: whoever
 * was allowed the field that returned one may read it, and each node keeps its own type's rule.
 */
export function connectionTypeNames(): readonly string[] {
  return madeTypeNames;
}

export type Connection<T> = {
  edges: Array<{ cursor: string; node: T }>;
  pageInfo: PageInfoType;
  totalCount(): Promise<number>;
};

/** type-graphql needs one concrete object type per connection: `${name}Connection` of `${name}Edge`. */
export function connectionType<T extends object>(
  name: string,
  node: () => ClassType<T>,
  description: string,
): ClassType<Connection<T>> {
  @ObjectType(`${name}Edge`)
  class Edge {
    @Field()
    cursor!: string;

    @Field(node)
    node!: T;
  }

  @ObjectType(`${name}Connection`, { description })
  class PageOf implements Connection<T> {
    @Field(() => [Edge])
    edges!: Edge[];

    @Field(() => PageInfoType)
    pageInfo!: PageInfoType;

    /** The page's count, read only when a client asks for `totalCount`. */
    count!: () => Promise<number>;

    @Field(() => Int, { description: 'Every item of the list the caller may see, on all pages.' })
    totalCount(): Promise<number> {
      return this.count();
    }
  }

  madeTypeNames.push(`${name}Connection`, `${name}Edge`);
  return PageOf;
}

/**
 * A connection of a keyset page, its nodes read through a by-id loader (one batched statement for
 * every page of the request). A row deleted since the page was read is left out.
 */
export async function connectionFrom<T extends object>(
  type: ClassType<Connection<T>>,
  page: KeysetPage,
  loader: { load(id: string): Promise<T | null> },
): Promise<Connection<T>> {
  const nodes = await Promise.all(page.edges.map((edge) => loader.load(edge.id)));
  const edges = page.edges.flatMap((edge, index) => {
    const node = nodes[index];
    return node ? [{ cursor: edge.cursor, node }] : [];
  });
  return Object.assign(new type(), {
    edges,
    pageInfo: pageInfoFrom({ ...page, edges }),
    count: page.totalCount,
  });
}
