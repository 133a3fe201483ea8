import { linkCommittedRecords } from '../../src/core/audit/chainer';
import { createOrgAs, person, type Person } from '../support/fixtures';
import { errorCode } from '../support/graphql-client';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

let server: TestGateway;
let owner: Person;
let admin: Person;
let viewer: Person;
let outsider: Person;
let superUser: string;
let orgId: string;
let otherOrgId: string;
let roleIds: string[];

const AUDIT_LOGS = `query ($orgId: ID, $filter: AuditLogFilter, $first: Int, $after: String) {
  auditLogs(orgId: $orgId, filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id action actorKind targetType targetId changes createdAt hash
      actor { id } org { id } apiKey { id } } }
  }
}`;

type AuditNode = {
  id: string;
  action: string;
  actorKind: string;
  targetType: string | null;
  targetId: string | null;
  changes: Record<string, unknown> | null;
  createdAt: string;
  hash: string;
  actor: { id: string } | null;
  org: { id: string } | null;
};
type AuditPage = {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  edges: Array<{ cursor: string; node: AuditNode }>;
};

async function auditLogs(token: string, variables: Record<string, unknown>): Promise<AuditPage> {
  const response = await server.graphql(AUDIT_LOGS, { orgId, ...variables }, { token });
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data.auditLogs;
}

async function createRole(token: string, name: string): Promise<string> {
  const response = await server.graphql(
    'mutation ($input: CreateRoleInput!) { createRole(input: $input) { id } }',
    { input: { orgId, name, permissions: ['org:read'] } },
    { token },
  );
  if (!response.data?.createRole) throw new Error(JSON.stringify(response.errors));
  return response.data.createRole.id;
}

beforeAll(async () => {
  server = await startTestGateway();
  superUser = (await server.login()).accessToken;
  owner = await person(server, 'auditor');
  orgId = await createOrgAs(server, owner.token, 'Audited Org');
  admin = await person(server, 'admin', { orgId, role: 'admin' });
  viewer = await person(server, 'viewer', { orgId, role: 'viewer' });
  outsider = await person(server, 'outsider');
  otherOrgId = await createOrgAs(server, outsider.token, 'Other Org');
  roleIds = [];
  for (const name of ['Role A', 'Role B', 'Role C']) roleIds.push(await createRole(owner.token, name));
  roleIds.push(await createRole(admin.token, 'Role D'));
  const renamed = await server.graphql(
    'mutation ($id: ID!) { updateRole(id: $id, input: { name: "Role A2" }) { id } }',
    { id: roleIds[0] },
    { token: owner.token },
  );
  expect(renamed.errors).toBeUndefined();
});

afterAll(async () => {
  await server.close();
});

describe('auditLogs', () => {
  it("lists an org's records newest first, with actor, org, changes and hash", async () => {
    // Listed as soon as they commit; the hash is there once the chainer has linked them.
    await linkCommittedRecords(server.gateway.database.dataSource);
    const page = await auditLogs(owner.token, { first: 50 });
    expect(page.edges.map((edge) => edge.node.action)).toEqual([
      'role.updated',
      'role.created',
      'role.created',
      'role.created',
      'role.created',
      'session.login',
      'session.login',
      'org.created',
    ]);
    expect(page.totalCount).toBe(8);
    const [updated] = page.edges.map((edge) => edge.node);
    expect(updated).toMatchObject({
      actorKind: 'HUMAN',
      targetType: 'Role',
      targetId: roleIds[0],
      actor: { id: owner.id },
      org: { id: orgId },
      apiKey: null,
    });
    expect(updated.changes).toEqual(expect.any(Object));
    expect(updated.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(updated.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('filters by actor, action, target and time', async () => {
    const byActor = await auditLogs(owner.token, { filter: { actorId: admin.id } });
    expect(byActor.edges.map((edge) => edge.node.action)).toEqual(['role.created', 'session.login']);
    expect(byActor.edges[0].node.targetId).toBe(roleIds[3]);

    const byAction = await auditLogs(owner.token, { filter: { action: 'role.updated' } });
    expect(byAction.edges.map((edge) => edge.node.targetId)).toEqual([roleIds[0]]);

    const byTarget = await auditLogs(owner.token, { filter: { targetType: 'Role', targetId: roleIds[0] } });
    expect(byTarget.edges.map((edge) => edge.node.action)).toEqual(['role.updated', 'role.created']);
    expect((await auditLogs(owner.token, { filter: { targetType: 'Org' } })).totalCount).toBe(1);

    const all = (await auditLogs(owner.token, {})).edges.map((edge) => edge.node);
    const pivot = all[2].createdAt;
    const since = await auditLogs(owner.token, { filter: { since: pivot } });
    expect(since.edges.map((edge) => edge.node.id)).toEqual(all.slice(0, 3).map((node) => node.id));
    const until = await auditLogs(owner.token, { filter: { until: pivot } });
    expect(until.edges.map((edge) => edge.node.id)).toEqual(all.slice(3).map((node) => node.id));
    expect(until.totalCount).toBe(5);
  });

  it('keeps cursors stable while new records arrive between pages', async () => {
    const before = (await auditLogs(owner.token, { first: 50 })).edges.map((edge) => edge.node.id);
    const first = await auditLogs(owner.token, { first: 2 });
    expect(first.pageInfo.hasNextPage).toBe(true);
    await createRole(owner.token, 'Arrives Between Pages 1');
    await createRole(owner.token, 'Arrives Between Pages 2');
    const ids = first.edges.map((edge) => edge.node.id);
    let cursor = first.pageInfo.endCursor;
    for (;;) {
      const next = await auditLogs(owner.token, { first: 2, after: cursor });
      ids.push(...next.edges.map((edge) => edge.node.id));
      if (!next.pageInfo.hasNextPage) break;
      cursor = next.pageInfo.endCursor;
    }
    expect(ids).toEqual(before);
    expect((await auditLogs(owner.token, { first: 2 })).totalCount).toBe(before.length + 2);
  });

  it('refuses a viewer, hides other orgs, and requires an org of everyone but super users', async () => {
    const viewerResponse = await server.graphql(AUDIT_LOGS, { orgId }, { token: viewer.token });
    expect(errorCode(viewerResponse)).toBe('FORBIDDEN');
    const outsiderResponse = await server.graphql(AUDIT_LOGS, { orgId }, { token: outsider.token });
    expect(errorCode(outsiderResponse)).toBe('NOT_FOUND');
    const adminElsewhere = await server.graphql(AUDIT_LOGS, { orgId: otherOrgId }, { token: admin.token });
    expect(errorCode(adminElsewhere)).toBe('NOT_FOUND');
    const withoutOrg = await server.graphql(AUDIT_LOGS, { orgId: null }, { token: owner.token });
    expect(errorCode(withoutOrg)).toBe('BAD_USER_INPUT');
    expect(withoutOrg.errors?.[0].extensions?.field).toBe('orgId');
    const anonymous = await server.graphql(AUDIT_LOGS, { orgId });
    expect(errorCode(anonymous)).toBe('UNAUTHENTICATED');
    const badCursor = await server.graphql(AUDIT_LOGS, { orgId, after: 'nonsense' }, { token: owner.token });
    expect(errorCode(badCursor)).toBe('BAD_USER_INPUT');
  });

  it('lets a super user read across every org', async () => {
    const page = await auditLogs(superUser, { orgId: null, first: 100, filter: { action: 'org.created' } });
    const orgs = page.edges.map((edge) => edge.node.org?.id);
    expect(orgs).toEqual(expect.arrayContaining([orgId, otherOrgId]));
  });

  it('loads actors and orgs in batches: 6 records cost what 2 do', async () => {
    const statements = server.gateway.database.statements;
    const cost = async (first: number) => {
      const before = statements.total;
      const page = await auditLogs(owner.token, { first, filter: { actorId: owner.id } });
      expect(page.edges).toHaveLength(first);
      return statements.total - before;
    };
    await cost(2);
    expect(await cost(6)).toBe(await cost(2));
  });
});

describe('User.auditLogs', () => {
  const USER_AUDIT = `query ($id: ID!) { user(id: $id) {
    auditLogs(first: 50) { totalCount edges { node { action actor { id } org { id } } } }
  } }`;

  it('lists what a user did, in the orgs where the caller reads audit records', async () => {
    const response = await server.graphql(USER_AUDIT, { id: admin.id }, { token: owner.token });
    expect(response.errors).toBeUndefined();
    const nodes = response.data.user.auditLogs.edges.map((edge: { node: unknown }) => edge.node);
    expect(nodes).toEqual([
      { action: 'role.created', actor: { id: admin.id }, org: { id: orgId } },
      { action: 'session.login', actor: { id: admin.id }, org: { id: orgId } },
    ]);
  });

  it('shows nothing from orgs where the caller lacks audit:read, even to the user themselves', async () => {
    const own = await server.graphql(USER_AUDIT, { id: viewer.id }, { token: viewer.token });
    expect(own.errors).toBeUndefined();
    expect(own.data.user.auditLogs.totalCount).toBe(0);
    const outsiderOwn = await server.graphql(USER_AUDIT, { id: outsider.id }, { token: outsider.token });
    expect(outsiderOwn.data.user.auditLogs.edges.map((edge: any) => edge.node.org.id)).toEqual([otherOrgId]);
    const stranger = await server.graphql(USER_AUDIT, { id: outsider.id }, { token: admin.token });
    expect(errorCode(stranger)).toBe('NOT_FOUND');
  });
});
