import type { Logger as TypeOrmLogger } from 'typeorm';

/**
 * A TypeORM logger that only counts statements, so tests and benchmarks can prove that a query
 * costs a constant number of round trips. Parameters are never logged: they may hold secrets.
 */
export class SqlStatementCounter implements TypeOrmLogger {
  total = 0;

  logQuery(): void {
    this.total++;
  }

  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
}
