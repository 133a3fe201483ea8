import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isObjectType, type GraphQLSchema } from 'graphql';
import { printDeclaredSchema } from '../../src/core/graphql/print-schema';
import { buildDeclaredSchema, permissionRules } from '../../src/schema';

const SCHEMA_FILE = path.join(__dirname, '..', '..', 'schema.graphql');

/** graphql-shield's rules are class instances; a map of field → rule is a plain object. */
function isFieldRuleMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

/** `Type.field` for every field of every object type that no shield rule covers (deny by default). */
function fieldsWithoutRules(schema: GraphQLSchema, rules: Record<string, unknown>): string[] {
  const uncovered: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    const typeRule = rules[type.name];
    if (typeRule !== undefined && !isFieldRuleMap(typeRule)) continue;
    for (const field of Object.keys(type.getFields())) {
      // In a field map, '*' is graphql-shield's rule for the fields it does not name.
      if ((typeRule?.[field] ?? typeRule?.['*']) === undefined) uncovered.push(`${type.name}.${field}`);
    }
  }
  return uncovered.sort();
}

describe('schema.graphql', () => {
  it('is what the code declares (run `npm run schema:emit` after changing the schema)', async () => {
    const committed = await readFile(SCHEMA_FILE, 'utf8');
    expect(committed).toBe(await printDeclaredSchema());
  });
});

describe('the permission rules', () => {
  it('cover every field of every object type in the schema', async () => {
    const schema = await buildDeclaredSchema();
    expect(schema.getQueryType()?.name).toBe('Query');
    expect(schema.getMutationType()?.name).toBe('Mutation');
    // The walk sees the root fields: without rules they would all be reported.
    expect(fieldsWithoutRules(schema, {})).toEqual(expect.arrayContaining(['Mutation.login', 'Query.me']));

    const rules = permissionRules() as Record<string, unknown>;
    expect(fieldsWithoutRules(schema, rules)).toEqual([]);
  });
});
