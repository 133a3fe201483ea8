import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  CREDENTIAL_POLICY,
  type CredentialPolicy,
  type FieldPolicy,
  type KeyAllowance,
} from '../src/core/permissions/credential-policy';

export const SECURITY_DOC = path.join(__dirname, '..', 'docs', 'security.md');
const BEGIN =
  '<!-- credential-table:begin (generated from src/core/permissions/credential-policy.ts: npm run docs:credentials) -->';
const END = '<!-- credential-table:end -->';

const yesNo = (allowed: boolean) => (allowed ? 'yes' : 'no');
const keyCell = (allowance: KeyAllowance) => (typeof allowance === 'boolean' ? yesNo(allowance) : 'not on its owner');

function row(name: string, field: FieldPolicy): string {
  const cells = [
    `\`${name}\``,
    yesNo(field.session),
    keyCell(field.personalKey),
    keyCell(field.serviceAccountKey),
    yesNo(field.anonymous),
    field.note ?? '',
  ];
  return `| ${cells.join(' | ')} |`;
}

/** The markdown table of every root field × credential kind, fields in alphabetical order per type. */
export function renderCredentialTable(policy: CredentialPolicy = CREDENTIAL_POLICY): string {
  const header = [
    '| Field | Session | API key of a person | API key of a service account | Anonymous | Why limited |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  const rows = (['Query', 'Mutation'] as const).flatMap((typeName) =>
    Object.keys(policy[typeName])
      .sort()
      .map((field) => row(`${typeName}.${field}`, policy[typeName][field])),
  );
  return [...header, ...rows].join('\n');
}

/** A markdown table's cells, row by row without the separator: equal tables whatever their padding. */
export function tableCells(markdown: string): string[][] {
  return markdown
    .split('\n')
    .filter((line) => line.trim().startsWith('|') && !/^\|[\s|:-]+\|$/.test(line.trim()))
    .map((line) =>
      line
        .trim()
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim()),
    );
}

/** The generated table as it stands in the document, or null when its markers are missing. */
export function tableInDocument(document: string): string | null {
  const begin = document.indexOf(BEGIN);
  const end = document.indexOf(END);
  if (begin < 0 || end < begin) return null;
  return document.slice(begin + BEGIN.length, end).trim();
}

function withTable(document: string, table: string): string {
  const begin = document.indexOf(BEGIN);
  const end = document.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`${SECURITY_DOC} has no ${BEGIN} … ${END} markers`);
  return `${document.slice(0, begin + BEGIN.length)}\n\n${table}\n\n${document.slice(end)}`;
}

/** Rewrites the table in docs/security.md, or with --check fails when it differs from the code. */
async function main() {
  const document = await readFile(SECURITY_DOC, 'utf8');
  const table = renderCredentialTable();
  if (process.argv.includes('--check')) {
    const current = tableInDocument(document);
    if (current === null || JSON.stringify(tableCells(current)) !== JSON.stringify(tableCells(table))) {
      process.stderr.write('docs/security.md: the credential table is stale: run `npm run docs:credentials`.\n');
      process.exit(1);
    }
    return;
  }
  // Padded as prettier pads it, so `prettier --check .` stays quiet about the generated part. Loaded
  // here only: prettier cannot be loaded inside jest, where the test imports this module.
  const { format, resolveConfig } = await import('prettier');
  const padded = await format(table, { ...(await resolveConfig(SECURITY_DOC)), parser: 'markdown' });
  await writeFile(SECURITY_DOC, withTable(document, padded.trim()));
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
