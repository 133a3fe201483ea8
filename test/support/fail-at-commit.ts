import type { TestGateway } from './test-gateway';

/**
 * Runs `work` while every transaction that inserts into `table` fails at COMMIT — after the
 * mutation wrote its audit record — through a deferred constraint trigger, removed afterwards.
 */
export async function whileCommitsFail<T>(server: TestGateway, table: string, work: () => Promise<T>): Promise<T> {
  await server.sql(`
    CREATE FUNCTION refuse_commit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'injected failure at commit'; END $$;
    CREATE CONSTRAINT TRIGGER refuse_commit AFTER INSERT ON ${table}
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_commit();
  `);
  try {
    return await work();
  } finally {
    await server.sql(`DROP TRIGGER refuse_commit ON ${table}; DROP FUNCTION refuse_commit();`);
  }
}
