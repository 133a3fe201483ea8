import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BUILT_IN_ROLES, PERMISSIONS } from '../../src/core/permissions/permissions';

/**
 * docs/permissions.md is what users read instead of the code: its permission table (one row per
 * string, a ✓ column per built-in role) and its table of built-in roles must say what
 * src/core/permissions/permissions.ts does.
 */

const doc = readFileSync(path.join(__dirname, '..', '..', 'docs', 'permissions.md'), 'utf8');

/** The cells of every row of the first table whose header row starts with `header`. */
function table(header: string): { columns: string[]; rows: string[][] } {
  const lines = doc.split('\n');
  const start = lines.findIndex((line) => line.startsWith(`| ${header} `));
  if (start < 0) throw new Error(`docs/permissions.md has no table headed "${header}"`);
  const cells = (line: string) =>
    line
      .slice(1, -1)
      .split('|')
      .map((cell) => cell.trim());
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(cells(line));
  }
  return { columns: cells(lines[start]), rows };
}

const code = (cell: string) => cell.match(/^`([^`]+)`$/)?.[1] ?? cell;

const permissionTable = table('Permission');
const documentedPermissions = permissionTable.rows.map((row) => code(row[0]));

it('lists every permission string of the code, once, and no other', () => {
  expect([...documentedPermissions].sort()).toEqual([...PERMISSIONS].sort());
});

it('explains every permission', () => {
  const unexplained = permissionTable.rows.filter((row) => (row[1] ?? '').length < 20).map((row) => row[0]);
  expect(unexplained).toEqual([]);
});

it.each(BUILT_IN_ROLES.map((role) => [role.key, role] as const))(
  'marks exactly the permissions the built-in role %s holds',
  (key, role) => {
    const column = permissionTable.columns.indexOf(key);
    expect(column).toBeGreaterThan(1);
    const marked = permissionTable.rows.filter((row) => row[column] === '✓').map((row) => code(row[0]));
    const unmarked = permissionTable.rows.filter((row) => row[column] === '').map((row) => code(row[0]));
    expect(marked.length + unmarked.length).toBe(permissionTable.rows.length);
    expect(marked.sort()).toEqual([...new Set(role.permissions)].sort());
  },
);

it('gives each built-in role its key, name and rank, and no other role', () => {
  const roles = table('Role (key)').rows.map(([key, name, rank]) => ({ key: code(key), name, rank: Number(rank) }));
  expect(roles).toEqual(BUILT_IN_ROLES.map(({ key, name, rank }) => ({ key, name, rank })));
});

it('gives every built-in role each permission once', () => {
  for (const role of BUILT_IN_ROLES) expect(new Set(role.permissions).size).toBe(role.permissions.length);
});
