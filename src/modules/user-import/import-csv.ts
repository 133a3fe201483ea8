import { CsvError, parse, type InfoRecord } from 'csv-parse/sync';
import { AppError } from '../../core/errors/app-error';

/** The columns an import reads; names are matched case-insensitively, in any order. */
export const IMPORT_COLUMNS = [
  'email',
  'firstName',
  'lastName',
  'role',
  'groups',
  'teams',
  'password',
  'customerId',
] as const;
export type ImportColumn = (typeof IMPORT_COLUMNS)[number];

/** Columns only the export writes: accepted and ignored, so an edited export can be imported back. */
export const EXPORT_ONLY_COLUMNS = ['status', 'kind', 'createdAt', 'lastLoginAt'] as const;

/**
 * Rows per call. Ten thousand rows of ~60 bytes fit the server's default 1 MB body limit, and
 * the import of that many is measured by the tests; larger lists are imported in several calls.
 */
export const MAX_IMPORT_ROWS = 10_000;

/** One data record: its cells by column, and the file line it starts on (the header is line 1). */
export type CsvRow = { line: number; cells: Partial<Record<ImportColumn, string>> };
export type LineFailure = { line: number; error: string };

const COLUMN_BY_NAME = new Map<string, ImportColumn | null>([
  ...IMPORT_COLUMNS.map((column) => [column.toLowerCase(), column] as const),
  ...EXPORT_ONLY_COLUMNS.map((column) => [column.toLowerCase(), null] as const),
]);

type ParsedRecord = { record: string[]; info: InfoRecord };

/**
 * Reads the CSV into rows. A malformed file, a missing header or an unknown column rejects the
 * whole import; a row with the wrong number of fields fails alone.
 */
export function readImportCsv(csv: string): { rows: CsvRow[]; failures: LineFailure[] } {
  const bytes = Buffer.from(csv, 'utf8');
  const [header, ...records] = parseRecords(bytes);
  if (!header) throw invalidCsv('The CSV is empty: its first line must be a header naming the columns');
  if (records.length > MAX_IMPORT_ROWS) {
    throw new AppError('import.too_large', {
      field: 'csv',
      message: `The CSV has ${records.length} rows; at most ${MAX_IMPORT_ROWS} can be imported at once`,
    });
  }
  const columns = headerColumns(header.record);
  const lines = new LineCounter(bytes);
  const rows: CsvRow[] = [];
  const failures: LineFailure[] = [];
  for (const record of records) {
    const line = lines.startOf(record);
    if (record.record.length !== columns.length) {
      failures.push({
        line,
        error: `Expected ${columns.length} fields as in the header, found ${record.record.length}`,
      });
      continue;
    }
    const cells: CsvRow['cells'] = {};
    columns.forEach((column, index) => {
      if (column) cells[column] = record.record[index];
    });
    rows.push({ line, cells });
  }
  return { rows, failures };
}

function parseRecords(bytes: Buffer): ParsedRecord[] {
  try {
    // With `info`, csv-parse returns { record, info } pairs, which its declared types do not model.
    const records: unknown = parse(bytes, {
      bom: true,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_empty_values: true,
    });
    return records as ParsedRecord[];
  } catch (error) {
    if (error instanceof CsvError) throw invalidCsv(`The CSV could not be read: ${error.message}`);
    throw error;
  }
}

function headerColumns(names: string[]): Array<ImportColumn | null> {
  const normalised = names.map((name) => name.trim().toLowerCase());
  const unknown = names.filter((_, index) => !COLUMN_BY_NAME.has(normalised[index]));
  if (unknown.length > 0) {
    throw invalidCsv(
      `Unknown column${unknown.length > 1 ? 's' : ''} ${unknown.map((name) => JSON.stringify(name)).join(', ')}: ` +
        `the first line must be a header naming columns among ${[...IMPORT_COLUMNS, ...EXPORT_ONLY_COLUMNS].join(', ')}`,
    );
  }
  const repeated = normalised.find((name, index) => normalised.indexOf(name) !== index);
  if (repeated) throw invalidCsv(`The column "${repeated}" appears more than once in the header`);
  if (!normalised.includes('email')) throw invalidCsv('The header has no email column');
  return normalised.map((name) => COLUMN_BY_NAME.get(name) ?? null);
}

function invalidCsv(message: string): AppError {
  return new AppError('import.invalid_csv', { field: 'csv', message });
}

const CR = 0x0d;
const LF = 0x0a;

/**
 * Finds the line each record starts on, for records given in file order. csv-parse reports the
 * byte offset where a record ends (its own line count drifts on CRLF files with line breaks inside
 * quoted fields), so the breaks before that offset are counted here, minus those inside the
 * record's own fields.
 */
class LineCounter {
  private offset = 0;
  private breaks = 0;

  constructor(private readonly bytes: Buffer) {}

  startOf({ record, info }: ParsedRecord): number {
    for (; this.offset < info.bytes; this.offset++) {
      const byte = this.bytes[this.offset];
      // A CRLF counts once, at its CR.
      if (byte === CR || (byte === LF && this.bytes[this.offset - 1] !== CR)) this.breaks++;
    }
    const last = this.bytes[info.bytes - 1];
    const endsWithBreak = last === LF || last === CR;
    const endLine = this.breaks + (endsWithBreak ? 0 : 1);
    return endLine - record.reduce((sum, field) => sum + countBreaks(field), 0);
  }
}

function countBreaks(text: string): number {
  return text.match(/\r\n|\r|\n/g)?.length ?? 0;
}
