import 'reflect-metadata';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { printDeclaredSchema } from '../src/core/graphql/print-schema';

const SCHEMA_PATH = path.join(__dirname, '..', 'schema.graphql');

/** Writes schema.graphql, or with --check fails when the committed file is stale. */
async function main() {
  const printed = await printDeclaredSchema();
  if (process.argv.includes('--check')) {
    const committed = await readFile(SCHEMA_PATH, 'utf8').catch(() => '');
    if (committed !== printed) {
      process.stderr.write('schema.graphql is stale: run `npm run schema:emit` and commit it.\n');
      process.exit(1);
    }
    return;
  }
  await writeFile(SCHEMA_PATH, printed);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
