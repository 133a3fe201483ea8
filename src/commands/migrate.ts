import { withAdminSession } from './admin-session';

/**
 * Brings the database schema up to date (the gateway also does so when it starts): opening the
 * database runs the pending migrations under the migration lock.
 */
export async function migrate(): Promise<number> {
  return withAdminSession({ create: true }, async ({ database }) => {
    const [{ applied }]: Array<{ applied: number }> = await database.dataSource.query(
      'SELECT count(*)::int AS applied FROM typeorm_migrations',
    );
    process.stdout.write(`${JSON.stringify({ migrationsApplied: applied, upToDate: true })}\n`);
    return 0;
  });
}
