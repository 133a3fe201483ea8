import { lexicographicSortSchema, printSchema } from 'graphql';
import { buildDeclaredSchema } from '../../schema';

export const SCHEMA_FILE_HEADER = '# Generated from the code by `npm run schema:emit`. Do not edit.\n\n';

/** The SDL committed as schema.graphql, sorted so that it changes only when the schema does. */
export async function printDeclaredSchema(): Promise<string> {
  return `${SCHEMA_FILE_HEADER}${printSchema(lexicographicSortSchema(await buildDeclaredSchema()))}\n`;
}
