import type { ClientConfig, Pool, QueryConfig, QueryResult, QueryResultRow } from 'pg';
import type { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';

/**
 * TypeORM's own pg pool, for statements TypeORM cannot send (named statements) or that must stay
 * outside its subscribers and statement counter (rate limits, key use).
 */
export function pgPool(dataSource: DataSource): Pool {
  return (dataSource.driver as PostgresDriver).master as Pool;
}

/**
 * The connection TypeORM's pool opens, for a client of its own. pg-pool keeps the password as a
 * non-enumerable property (out of logs), so it is copied by name: the embedded server needs it.
 */
export function poolConnection(dataSource: DataSource): ClientConfig {
  const { options } = pgPool(dataSource) as Pool & { options: ClientConfig };
  return { ...options, password: options.password };
}

/** DataSources whose DATABASE_URL is a pooler in transaction mode (DATABASE_DIRECT_URL is set). */
const behindTransactionPooler = new WeakSet<DataSource>();

export function markBehindTransactionPooler(dataSource: DataSource): void {
  behindTransactionPooler.add(dataSource);
}

/**
 * TypeORM's pool, for named statements (ours, and rate-limiter-flexible's). A named statement is
 * parsed once per client connection, then only bound by name. Behind a pooler in transaction mode
 * (pgbouncer before 1.21, or with max_prepared_statements=0) each transaction may run on another
 * server connection: one that does not know the name ("prepared statement … does not exist"), or
 * knows it from another client ("… already exists"). There statements go unnamed, parsed and
 * planned on every use, still in one round trip.
 */
export function namedStatementPool(dataSource: DataSource): {
  query<Row extends QueryResultRow>(query: QueryConfig): Promise<QueryResult<Row>>;
} {
  const pool = pgPool(dataSource);
  if (!behindTransactionPooler.has(dataSource)) return pool;
  return { query: ({ name: _name, ...unnamed }) => pool.query(unnamed) };
}
