import { readFile } from 'node:fs/promises';
import type { GraphQLSchema } from 'graphql';
import { fieldPolicy } from '../../src/core/permissions/credential-gate';
import { CREDENTIAL_POLICY, SESSION_ONLY } from '../../src/core/permissions/credential-policy';
import { buildDeclaredSchema } from '../../src/schema';
import { SECURITY_DOC, renderCredentialTable, tableCells, tableInDocument } from '../../scripts/credential-table';

/** `Type.field` for every Query and Mutation field the schema declares. */
function rootFields(schema: GraphQLSchema): string[] {
  return [schema.getQueryType()!, schema.getMutationType()!]
    .flatMap((type) => Object.keys(type.getFields()).map((field) => `${type.name}.${field}`))
    .sort();
}

/** The field names of the table's rows, `Type.field` without the backticks. */
function fieldsOf(table: string): string[] {
  return tableCells(table)
    .slice(1)
    .map(([field]) => field.replace(/`/g, ''))
    .sort();
}

let schemaFields: string[];
let documentedTable: string | null;

beforeAll(async () => {
  schemaFields = rootFields(await buildDeclaredSchema());
  documentedTable = tableInDocument(await readFile(SECURITY_DOC, 'utf8'));
});

describe('the credential policy', () => {
  it('names every Query and Mutation field of the schema, and nothing else', () => {
    const inCode = (['Query', 'Mutation'] as const)
      .flatMap((type) => Object.keys(CREDENTIAL_POLICY[type]).map((field) => `${type}.${field}`))
      .sort();
    expect(schemaFields.length).toBeGreaterThan(50);
    expect(inCode).toEqual(schemaFields);
  });

  it('leaves a field it does not name to sessions only', () => {
    expect(fieldPolicy(CREDENTIAL_POLICY, 'Mutation', 'someNewMutation')).toBe(SESSION_ONLY);
    expect(fieldPolicy(CREDENTIAL_POLICY, 'Query', 'constructor')).toBe(SESSION_ONLY);
    expect(SESSION_ONLY).toEqual({ session: true, personalKey: false, serviceAccountKey: false, anonymous: false });
  });

  it('keeps keys out of self-service and of everything that mints a session', () => {
    const refusedToKeys = ['Query.sessions', ...SESSION_MINTING, ...SELF_SERVICE];
    for (const name of refusedToKeys) {
      const [type, field] = name.split('.') as ['Query' | 'Mutation', string];
      expect([name, CREDENTIAL_POLICY[type][field].personalKey]).toEqual([name, false]);
      expect([name, CREDENTIAL_POLICY[type][field].serviceAccountKey]).toEqual([name, false]);
    }
  });
});

const SESSION_MINTING = [
  'Mutation.login',
  'Mutation.refreshSession',
  'Mutation.acceptInvitation',
  'Mutation.requestPasswordReset',
  'Mutation.resetPassword',
];
const SELF_SERVICE = ['Mutation.changePassword', 'Mutation.createOrg', 'Mutation.logout', 'Mutation.revokeSession'];

describe('docs/security.md', () => {
  it('holds the generated credential table', () => {
    expect(documentedTable).not.toBeNull();
  });

  it('lists every Query and Mutation field of the schema', () => {
    expect(fieldsOf(documentedTable ?? '')).toEqual(schemaFields);
  });

  it('says what the code enforces (run `npm run docs:credentials` after changing the policy)', () => {
    expect(tableCells(documentedTable ?? '')).toEqual(tableCells(renderCredentialTable()));
  });
});
