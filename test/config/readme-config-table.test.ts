import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CONFIG_VARIABLES, loadConfig } from '../../src/core/config/config';

/**
 * README's "Configuration" section is checked against the configuration schema: every variable the
 * gateway reads is in one of its tables, every variable there is read, and a default written as a
 * plain value is the schema's. Variables that Node.js or a library reads have their own table,
 * under LIBRARY_HEADING, and must not be the gateway's.
 */

const LIBRARY_HEADING = '### Read by Node.js and the libraries';

type Row = { variables: string[]; defaultCell: string; meaning: string; heading: string };

function configurationSection(): string {
  const readme = readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Configuration\n');
  if (start < 0) throw new Error('README.md has no "## Configuration" section');
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

/** The rows of every table in the section, with the `###` heading each sits under. */
function tableRows(section: string): Row[] {
  const rows: Row[] = [];
  let heading = '## Configuration';
  for (const line of section.split('\n')) {
    if (line.startsWith('### ')) heading = line.trim();
    if (!line.startsWith('| `')) continue;
    const [first, defaultCell, meaning] = line
      .slice(1, -1)
      .split(' | ')
      .map((cell) => cell.trim());
    const variables = [...first.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((match) => match[1]);
    rows.push({ variables, defaultCell: defaultCell ?? '', meaning: meaning ?? '', heading });
  }
  return rows;
}

const rows = tableRows(configurationSection());
const gatewayRows = rows.filter((row) => row.heading !== LIBRARY_HEADING);
const libraryRows = rows.filter((row) => row.heading === LIBRARY_HEADING);
const documented = gatewayRows.flatMap((row) => row.variables);

it('finds the gateway tables and the libraries table', () => {
  expect(gatewayRows.length).toBeGreaterThan(20);
  expect(libraryRows.length).toBeGreaterThan(0);
});

it('lists every variable of the configuration schema', () => {
  const missing = CONFIG_VARIABLES.filter((name) => !documented.includes(name));
  expect(missing).toEqual([]);
});

it('lists no gateway variable the schema does not read, and none twice', () => {
  const unknown = documented.filter((name) => !CONFIG_VARIABLES.includes(name));
  expect(unknown).toEqual([]);
  const twice = documented.filter((name, index) => documented.indexOf(name) !== index);
  expect(twice).toEqual([]);
});

it("keeps the libraries' variables apart from the gateway's", () => {
  const both = libraryRows.flatMap((row) => row.variables).filter((name) => CONFIG_VARIABLES.includes(name));
  expect(both).toEqual([]);
});

it('gives each gateway row one variable, and every row a default and a meaning', () => {
  expect(gatewayRows.filter((row) => row.variables.length !== 1)).toEqual([]);
  expect(rows.filter((row) => row.defaultCell === '' || row.meaning === '')).toEqual([]);
});

it("writes the schema's default wherever the default is a plain value", () => {
  // A default such as `15m` must configure exactly what leaving the variable unset does; computed
  // defaults ("unset", "generated…", `http://localhost:$PORT`) are prose and skipped.
  const plain = gatewayRows
    .map((row) => ({ name: row.variables[0], value: row.defaultCell.match(/^`([^`$]+)`$/)?.[1] }))
    .filter((row): row is { name: string; value: string } => row.value !== undefined);
  expect(plain.length).toBeGreaterThan(30);
  const unset = loadConfig({});
  for (const { name, value } of plain) {
    expect({ name, config: loadConfig({ [name]: value }) }).toEqual({ name, config: unset });
  }
});
