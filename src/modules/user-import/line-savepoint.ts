import type { EntityManager } from 'typeorm';

/**
 * Runs each line of an import in its own savepoint, so a failing line rolls back alone while the
 * others stay in the one transaction. A call may hold ten thousand lines, so releasing one line's
 * savepoint and opening the next share a round trip (a multi-statement query, which PostgreSQL
 * accepts when it has no parameters). The transaction's commit releases the last one.
 */
export class LineSavepoints {
  private open = false;

  constructor(private readonly tx: EntityManager) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    await this.tx.query(this.open ? 'RELEASE SAVEPOINT import_line; SAVEPOINT import_line' : 'SAVEPOINT import_line');
    this.open = true;
    try {
      return await work();
    } catch (error) {
      // The savepoint outlives its rollback; the next line releases it.
      await this.tx.query('ROLLBACK TO SAVEPOINT import_line');
      throw error;
    }
  }
}
