import { randomBytes } from 'node:crypto';
import { PasswordHasher } from '../../src/core/crypto/password-hasher';
import type { TestGateway } from './test-gateway';

export const MEMBER_PASSWORD = 'member password 123';

const hasher = new PasswordHasher(4);
let memberPasswordHash: Promise<string> | null = null;

/** A unique email for this run. */
export function uniqueEmail(name: string): string {
  return `${name}.${randomBytes(4).toString('hex')}@example.com`;
}

/** Inserts a human account that can sign in with MEMBER_PASSWORD. */
export async function createUser(
  server: TestGateway,
  email: string,
  extra: { firstName?: string; lastName?: string; kind?: string } = {},
): Promise<string> {
  memberPasswordHash ??= hasher.hash(MEMBER_PASSWORD);
  const [row] = await server.sql(
    `INSERT INTO users (email, password_hash, first_name, last_name, kind) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
    [email, await memberPasswordHash, extra.firstName ?? null, extra.lastName ?? null, extra.kind ?? 'HUMAN'],
  );
  return row.id;
}

export async function roleId(server: TestGateway, orgId: string, key: string): Promise<string> {
  const [row] = await server.sql('SELECT id FROM roles WHERE org_id = $1 AND key = $2', [orgId, key]);
  if (!row) throw new Error(`no role ${key} in org ${orgId}`);
  return row.id;
}

/** Adds a membership directly (invitations are tested on their own). */
export async function addMember(server: TestGateway, orgId: string, userId: string, roleKey: string): Promise<string> {
  const [row] = await server.sql(
    'INSERT INTO memberships (org_id, user_id, role_id) VALUES ($1, $2, $3) RETURNING id',
    [orgId, userId, await roleId(server, orgId, roleKey)],
  );
  return row.id;
}

/** Creates an org through the API, so its built-in roles and owner come from the real flow. */
export async function createOrgAs(server: TestGateway, token: string, name: string): Promise<string> {
  const response = await server.graphql(
    'mutation ($input: CreateOrgInput!) { createOrg(input: $input) { id } }',
    { input: { name } },
    { token },
  );
  if (!response.data?.createOrg) throw new Error(`createOrg failed: ${JSON.stringify(response.errors)}`);
  return response.data.createOrg.id;
}

export type Person = { id: string; email: string; token: string };

/** A new user, optionally a member of an org with a role, signed in. */
export async function person(
  server: TestGateway,
  name: string,
  membership?: { orgId: string; role: string },
): Promise<Person> {
  const email = uniqueEmail(name);
  const id = await createUser(server, email, { firstName: name });
  if (membership) await addMember(server, membership.orgId, id, membership.role);
  const { accessToken } = await server.login(email, MEMBER_PASSWORD);
  return { id, email, token: accessToken };
}
