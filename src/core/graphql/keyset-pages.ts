import DataLoader from 'dataloader';
import type { DataSource } from 'typeorm';
import { AppError } from '../errors/app-error';
import { decodeCursor, DEFAULT_PAGE_SIZE, encodeCursor } from './connection';
import { isTimestampText } from './cursor-values';

/**
 * A list that pages by keyset over (sort, id) within each parent: an org's teams, a team's members.
 * `rows` selects the columns `parent`, `id` (uuid) and `sort` (never null) of every parent of a
 * batch, with only the rows the caller may see; its parameters are $1, $2, ... in order.
 */
export type KeysetList<P> = {
  /** Names the list and whatever its rows depend on (a filter, the caller): the loader cache key. */
  key: string;
  /** Written into cursors: a cursor of another kind is refused. */
  cursorKind: string;
  sortType: 'text' | 'timestamptz';
  direction: 'ASC' | 'DESC';
  /** The parent as `rows` writes its `parent` column, as text. */
  parentKey(parent: P): string;
  rows(parents: readonly P[]): { sql: string; params: unknown[] };
};

type PageRequest = { first?: number | null; after?: string | null };

export type KeysetPage = {
  edges: Array<{ cursor: string; id: string }>;
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  /** Counted only when asked for, for every parent of the batch at once. */
  totalCount: () => Promise<number>;
};

type Position = { value: string; id: string };

function positionOf(list: KeysetList<unknown>, after: string): Position {
  const position = decodeCursor(list.cursorKind, after);
  const value = position?.value;
  if (!position || value == null || (list.sortType === 'timestamptz' && !isTimestampText(value))) {
    throw new AppError('request.invalid_cursor', { field: 'after' });
  }
  return { value, id: position.id };
}

/** One statement for a page of every parent of a batch: each parent's first `first + 1` rows after the cursor. */
function pageStatement(list: KeysetList<never>, parents: readonly unknown[], first: number, after: Position | null) {
  const rows = list.rows(parents as never[]);
  const params = [...rows.params];
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const direction = list.direction;
  const afterClause = after
    ? `WHERE (s.sort, s.id) ${direction === 'ASC' ? '>' : '<'} ` +
      `(CAST(${param(after.value)} AS ${list.sortType}), CAST(${param(after.id)} AS uuid))`
    : '';
  const sql = `SELECT w.parent, w.id, w.sort_text FROM (
      SELECT s.parent::text AS parent, s.id::text AS id, s.sort::text AS sort_text,
             row_number() OVER (PARTITION BY s.parent ORDER BY s.sort ${direction}, s.id ${direction}) AS position
        FROM (${rows.sql}) s ${afterClause}
    ) w
    WHERE w.position <= ${param(first + 1)}
    ORDER BY w.parent, w.position`;
  return { sql, params };
}

/**
 * A request's keyset pages: one DataLoader per list and page arguments, so the same connection
 * under N parents (each org's teams) costs one statement for the pages and one for the counts,
 * whatever N and the page size. Created per request with the other loaders.
 */
export class KeysetPages {
  private readonly pages = new Map<string, DataLoader<unknown, KeysetPage, string>>();
  private readonly counts = new Map<string, DataLoader<unknown, number, string>>();

  constructor(private readonly db: DataSource) {}

  load<P>(list: KeysetList<P>, parent: P, request: PageRequest): Promise<KeysetPage> {
    const first = request.first ?? DEFAULT_PAGE_SIZE;
    const cacheKey = JSON.stringify([list.key, first, request.after ?? null]);
    let loader = this.pages.get(cacheKey);
    if (!loader) {
      // The cursor is opened once per list and page arguments, not once per parent.
      const after = request.after ? positionOf(list as KeysetList<unknown>, request.after) : null;
      loader = this.pageLoader(list as KeysetList<unknown>, first, after);
      this.pages.set(cacheKey, loader);
    }
    return loader.load(parent);
  }

  private pageLoader(list: KeysetList<unknown>, first: number, after: Position | null) {
    return new DataLoader<unknown, KeysetPage, string>(
      async (parents) => {
        const { sql, params } = pageStatement(list as KeysetList<never>, parents, first, after);
        const rows: Array<{ parent: string; id: string; sort_text: string }> = await this.db.query(sql, params);
        const byParent = new Map<string, typeof rows>();
        for (const row of rows) {
          const siblings = byParent.get(row.parent);
          if (siblings) siblings.push(row);
          else byParent.set(row.parent, [row]);
        }
        return parents.map((parent) => {
          const found = byParent.get(list.parentKey(parent)) ?? [];
          return {
            edges: found.slice(0, first).map((row) => ({
              id: row.id,
              cursor: encodeCursor(list.cursorKind, { value: row.sort_text, id: row.id }),
            })),
            hasNextPage: found.length > first,
            hasPreviousPage: after !== null,
            totalCount: () => this.count(list, parent),
          };
        });
      },
      { cacheKeyFn: (parent) => list.parentKey(parent) },
    );
  }

  private count(list: KeysetList<unknown>, parent: unknown): Promise<number> {
    let loader = this.counts.get(list.key);
    if (!loader) {
      loader = new DataLoader<unknown, number, string>(
        async (parents) => {
          const rows = list.rows(parents);
          const counted: Array<{ parent: string; total: number }> = await this.db.query(
            `SELECT s.parent::text AS parent, count(*)::int AS total FROM (${rows.sql}) s GROUP BY s.parent`,
            rows.params,
          );
          const totals = new Map(counted.map((row) => [row.parent, row.total]));
          return parents.map((key) => totals.get(list.parentKey(key)) ?? 0);
        },
        { cacheKeyFn: (key) => list.parentKey(key) },
      );
      this.counts.set(list.key, loader);
    }
    return loader.load(parent);
  }
}

/**
 * A list whose parent is a row id: `sql` selects `parent, id, sort` for the parents in $1 (uuid[]).
 * Its rows depend on nothing but the parent, so one key serves every caller.
 */
export function listByParentId(
  spec: Pick<KeysetList<string>, 'key' | 'cursorKind' | 'sortType' | 'direction'> & { sql: string },
): KeysetList<string> {
  const { sql, ...list } = spec;
  return { ...list, parentKey: (parentId) => parentId, rows: (parentIds) => ({ sql, params: [parentIds] }) };
}
