import {
  addMember,
  createOrgAs,
  createUser,
  MEMBER_PASSWORD,
  person,
  uniqueEmail,
  type Person,
} from '../support/fixtures';
import { OWNER_EMAIL, OWNER_PASSWORD, startTestGateway, type TestGateway } from '../support/test-gateway';

// Account authority (docs/security.md): an act on another person's whole account needs the
// permission and a higher rank in *every* org the target belongs to, or super-user power.

const SET_PASSWORD =
  'mutation ($userId: ID!, $password: String!) { setPassword(userId: $userId, password: $password) }';
const LOCK = 'mutation ($userId: ID!) { lock(userId: $userId, reason: "test") { id locked } }';
const UNLOCK = 'mutation ($userId: ID!) { unlock(userId: $userId) { id locked } }';
const UPDATE_USER =
  'mutation ($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id firstName } }';
const IMPORT = `mutation ($orgId: ID!, $csv: String!) { importUsers(orgId: $orgId, csv: $csv) { created updated failed { line error } lines { line status error } } }`;
const LOGIN =
  'mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }';
const CREATE_KEY = 'mutation ($input: CreateKeyInput!) { createKey(input: $input) { token } }';

const TAKEN_OVER = 'a password chosen by the attacker';

let server: TestGateway;
let superUser: { id: string; token: string };
let orgA: string;
let orgB: string;
let ownerA: Person;
let adminA: Person;
let ownerB: Person;

type Snapshot = { password_hash: string; locked_at: Date | null; first_name: string | null };

async function accountOf(userId: string): Promise<Snapshot> {
  const [row] = await server.sql('SELECT password_hash, locked_at, first_name FROM users WHERE id = $1', [userId]);
  return row;
}

/** Each account-level operation, as `caller` against `target`, with the reason it was refused (or null). */
async function accountActs(caller: string, target: string): Promise<Record<string, string | null>> {
  const reasonOf = async (query: string, variables: Record<string, unknown>) => {
    const response = await server.graphql(query, variables, { token: caller });
    return response.errors ? (response.errors[0].extensions?.reason ?? response.errors[0].extensions?.code) : null;
  };
  return {
    setPassword: await reasonOf(SET_PASSWORD, { userId: target, password: TAKEN_OVER }),
    lock: await reasonOf(LOCK, { userId: target }),
    unlock: await reasonOf(UNLOCK, { userId: target }),
    updateUser: await reasonOf(UPDATE_USER, { id: target, input: { firstName: 'Renamed' } }),
  };
}

const refusedAll = (reason: string) => ({ setPassword: reason, lock: reason, unlock: reason, updateUser: reason });

async function expectUnchanged(userId: string, action: () => Promise<unknown>) {
  const before = await accountOf(userId);
  await action();
  expect(await accountOf(userId)).toEqual(before);
}

async function membershipCount(userId: string): Promise<number> {
  const [{ count }] = await server.sql('SELECT count(*)::int AS count FROM memberships WHERE user_id = $1', [userId]);
  return count;
}

beforeAll(async () => {
  server = await startTestGateway();
  const signedIn = await server.login();
  superUser = { id: signedIn.userId, token: signedIn.accessToken };
  ownerA = await person(server, 'owner-a');
  orgA = await createOrgAs(server, ownerA.token, 'Org A');
  adminA = await person(server, 'admin-a', { orgId: orgA, role: 'admin' });
  ownerB = await person(server, 'owner-b');
  orgB = await createOrgAs(server, ownerB.token, 'Org B');
  // The owner of B is also a viewer in A: within A alone, A's admins outrank them.
  await addMember(server, orgA, ownerB.id, 'viewer');
});

afterAll(async () => {
  await server.close();
});

describe('the takeover chains of the attack review', () => {
  it('a new org, an import and setPassword do not reach a super user', async () => {
    const attacker = await person(server, 'attacker');
    const attackerOrg = await createOrgAs(server, attacker.token, 'Attacker Org');
    const before = await membershipCount(superUser.id);
    await expectUnchanged(superUser.id, async () => {
      await server.graphql(IMPORT, { orgId: attackerOrg, csv: `email\n${OWNER_EMAIL}\n` }, { token: attacker.token });
      const set = await server.graphql(
        SET_PASSWORD,
        { userId: superUser.id, password: TAKEN_OVER },
        { token: attacker.token },
      );
      expect(set.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    });
    expect(await membershipCount(superUser.id)).toBe(before);
    expect((await server.graphql(LOGIN, { email: OWNER_EMAIL, password: TAKEN_OVER })).data).toBeNull();
    expect((await server.graphql(LOGIN, { email: OWNER_EMAIL, password: OWNER_PASSWORD })).data?.login).toBeTruthy();
  });

  it('even as a member of the attacker’s org, a super user is out of an owner’s reach', async () => {
    const attacker = await person(server, 'attacker2');
    const attackerOrg = await createOrgAs(server, attacker.token, 'Attacker Org 2');
    await addMember(server, attackerOrg, superUser.id, 'viewer');
    await expectUnchanged(superUser.id, async () => {
      expect(await accountActs(attacker.token, superUser.id)).toEqual(refusedAll('account.super_user'));
    });
  });

  it('an admin of A cannot take over the owner of B who is a viewer in A', async () => {
    await expectUnchanged(ownerB.id, async () => {
      expect(await accountActs(adminA.token, ownerB.id)).toEqual(refusedAll('account.outside_authority'));
    });
    expect((await server.graphql(LOGIN, { email: ownerB.email, password: MEMBER_PASSWORD })).data?.login).toBeTruthy();
  });

  it('not even the owner of A, who outranks everyone in A', async () => {
    await expectUnchanged(ownerB.id, async () => {
      expect(await accountActs(ownerA.token, ownerB.id)).toEqual(refusedAll('account.outside_authority'));
    });
  });
});

describe('authority in every org of the target', () => {
  it('holding the permission and a higher rank in each of its orgs is enough', async () => {
    const adminBoth = await person(server, 'admin-both', { orgId: orgA, role: 'admin' });
    await addMember(server, orgB, adminBoth.id, 'admin');
    const target = await person(server, 'target-both', { orgId: orgA, role: 'viewer' });
    await addMember(server, orgB, target.id, 'viewer');

    expect(await accountActs(adminA.token, target.id)).toEqual(refusedAll('account.outside_authority'));
    expect(await accountActs(adminBoth.token, target.id)).toEqual({
      setPassword: null,
      lock: null,
      unlock: null,
      updateUser: null,
    });
    expect((await server.graphql(LOGIN, { email: target.email, password: TAKEN_OVER })).data?.login).toBeTruthy();
    expect((await accountOf(target.id)).first_name).toBe('Renamed');
  });

  it('a deactivated membership still counts', async () => {
    const target = await person(server, 'deactivated-elsewhere', { orgId: orgA, role: 'viewer' });
    await addMember(server, orgB, target.id, 'viewer');
    await server.sql(`UPDATE memberships SET status = 'DEACTIVATED' WHERE user_id = $1 AND org_id = $2`, [
      target.id,
      orgB,
    ]);
    await expectUnchanged(target.id, async () => {
      expect(await accountActs(adminA.token, target.id)).toEqual(refusedAll('account.outside_authority'));
    });
  });

  it('rank includes the roles the target inherits from its groups', async () => {
    const target = await person(server, 'group-admin', { orgId: orgA, role: 'viewer' });
    const [adminRole] = await server.sql(`SELECT id FROM roles WHERE org_id = $1 AND key = 'admin'`, [orgA]);
    const [group] = await server.sql(
      `INSERT INTO groups (org_id, name, role_id) VALUES ($1, 'Admins', $2) RETURNING id`,
      [orgA, adminRole.id],
    );
    await server.sql('INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)', [group.id, target.id]);
    await expectUnchanged(target.id, async () => {
      expect(await accountActs(adminA.token, target.id)).toEqual(refusedAll('member.outranked'));
    });
    expect((await accountActs(ownerA.token, target.id)).setPassword).toBeNull();
  });

  it('an account with no membership at all is for itself and super users only', async () => {
    const email = uniqueEmail('orphan');
    const orphan = await createUser(server, email);
    await expectUnchanged(orphan, async () => {
      expect(await accountActs(ownerA.token, orphan)).toEqual(refusedAll('user.not_found'));
    });
    const bySuperUser = await server.graphql(
      SET_PASSWORD,
      { userId: orphan, password: TAKEN_OVER },
      { token: superUser.token },
    );
    expect(bySuperUser.data?.setPassword).toBe(true);
  });

  it('a personal API key acts on others only within its org and its scopes', async () => {
    // Scopes cap the key's rank too: above a viewer's, short of members:lock.
    const [adminRole] = await server.sql(`SELECT permissions FROM roles WHERE org_id = $1 AND key = 'admin'`, [orgA]);
    const scopes = (adminRole.permissions as string[]).filter((permission) => permission !== 'members:lock');
    const created = await server.graphql(
      CREATE_KEY,
      {
        input: { ownerId: adminA.id, orgId: orgA, name: 'password desk', scopes },
      },
      { token: adminA.token },
    );
    const key = created.data?.createKey?.token as string;
    expect(key).toBeTruthy();
    const onlyInA = await person(server, 'only-in-a', { orgId: orgA, role: 'viewer' });
    const alsoInB = await person(server, 'also-in-b', { orgId: orgA, role: 'viewer' });
    await addMember(server, orgB, alsoInB.id, 'viewer');

    const refused = await server.graphql(SET_PASSWORD, { userId: alsoInB.id, password: TAKEN_OVER }, { token: key });
    expect(refused.errors?.[0].extensions?.reason).toBe('account.outside_authority');
    const allowed = await server.graphql(SET_PASSWORD, { userId: onlyInA.id, password: TAKEN_OVER }, { token: key });
    expect(allowed.data?.setPassword).toBe(true);
    // Renaming its own owner through an import is self-service, out of a key's reach.
    const rename = await server.graphql(
      IMPORT,
      { orgId: orgA, csv: `email,firstName\n${adminA.email},Renamed by key\n` },
      { token: key },
    );
    expect(rename.data?.importUsers.lines).toEqual([{ line: 2, status: 'FAILED', error: expect.any(String) }]);
    expect((await accountOf(adminA.id)).first_name).not.toBe('Renamed by key');
    // members:lock is not among the key's scopes.
    const lock = await server.graphql(LOCK, { userId: onlyInA.id }, { token: key });
    expect(lock.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });
});

describe('renaming through importUsers is an account-level act', () => {
  it('renames a member of this org only, and fails the line for a member of other orgs', async () => {
    const onlyInA = await person(server, 'rename-a', { orgId: orgA, role: 'viewer' });
    const csv = `email,firstName\n${onlyInA.email},Renamed\n${ownerB.email},Renamed\n`;
    const before = await accountOf(ownerB.id);
    const response = await server.graphql(IMPORT, { orgId: orgA, csv }, { token: adminA.token });
    expect(response.data?.importUsers.lines).toEqual([
      { line: 2, status: 'UPDATED', error: null },
      { line: 3, status: 'FAILED', error: expect.stringContaining('every org') },
    ]);
    expect((await accountOf(onlyInA.id)).first_name).toBe('Renamed');
    expect(await accountOf(ownerB.id)).toEqual(before);
  });
});
