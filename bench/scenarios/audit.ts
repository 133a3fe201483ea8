/**
 * The audit listing bench (bench/audit-query.bench.ts, 1,000,000 records, kept by its own author):
 * run as it is, its console output shown, and its table's p95 per listing checked against the
 * issue's target. It creates and drops its own database.
 */
import path from 'node:path';
import { startScript } from '../lib/processes';
import { row, type Row } from '../lib/report';
import type { Scenario } from '../lib/context';

const TABLE_ROW = /│\s*\d+\s*│\s*'([^']+)'\s*│\s*([\d.]+)\s*│\s*([\d.]+)\s*│/;

export const audit: Scenario = {
  name: 'audit',
  describe: 'bench/audit-query.bench.ts: first pages of auditLogs under 1,000,000 records, with EXPLAIN',
  async run() {
    const child = startScript('audit bench', path.join(__dirname, '../audit-query.bench.ts'), {});
    let output = '';
    child.process.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.process.once('close', resolve));
    console.log(output.replace(/^/gm, '  │ '));
    if (code !== 0) throw new Error(`the audit bench failed (${code}):\n${child.output()}`);
    const rows: Row[] = [];
    for (const line of output.split('\n')) {
      const match = TABLE_ROW.exec(line);
      if (!match) continue;
      const [, listing, medianMs, p95Ms] = match;
      // The deep-paging row times ten pages at once; the target is for first pages.
      const firstPage = !/pages by cursor/.test(listing);
      rows.push(
        row(
          'audit',
          `${listing}: median / p95`,
          `${medianMs} / ${p95Ms} ms`,
          firstPage ? 'p95 < 20 ms' : '',
          firstPage ? Number(p95Ms) < 20 : null,
        ),
      );
    }
    const seqScans = output.split('\n').filter((line) => line.includes('SEQ SCAN')).length;
    if (rows.length === 0) rows.push(row('audit', 'summary', 'no table found in its output (see the log)', '', false));
    rows.push(row('audit', 'EXPLAIN: listings with a Seq Scan on audit_logs', String(seqScans), '0', seqScans === 0));
    return rows;
  },
};
