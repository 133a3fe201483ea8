import { openPersonalData, sealedSubjects } from '../../src/core/audit/personal-data';
import type { TestGateway } from './test-gateway';

/**
 * Stored audit rows with their `changes` opened as an auditor reads them: personal data is stored
 * sealed (src/core/audit/personal-data.ts), so tests that read audit_logs directly open it first.
 */
export async function withOpenedChanges<T extends { changes: Record<string, unknown> | null }>(
  server: TestGateway,
  rows: T[],
): Promise<T[]> {
  const subjects = [...new Set(rows.flatMap((row) => sealedSubjects(row.changes)))];
  const keys: Array<{ subject: string; key: Buffer }> = subjects.length
    ? await server.sql('SELECT subject, key FROM audit_subject_keys WHERE subject = ANY($1::text[])', [subjects])
    : [];
  const bySubject = new Map(keys.map(({ subject, key }) => [subject, key]));
  return rows.map((row) => ({ ...row, changes: openPersonalData(row.changes, bySubject) }));
}
