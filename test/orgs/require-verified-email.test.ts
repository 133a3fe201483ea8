import { addMember, createOrgAs, MEMBER_PASSWORD, person, type Person } from '../support/fixtures';
import { errorCode, type GraphQLResponse } from '../support/graphql-client';
import { startSmtpSink, tokenFrom, type SmtpSink } from '../support/smtp-sink';
import { OWNER_EMAIL, OWNER_PASSWORD, startTestGateway, type TestGateway } from '../support/test-gateway';

const UPDATE_ORG = `mutation ($id: ID!, $input: UpdateOrgInput!) {
  updateOrg(id: $id, input: $input) { id requireVerifiedEmail }
}`;
const ROLES = 'query ($id: ID!) { org(id: $id) { id requireVerifiedEmail roles { key } } }';
const LOGIN = `mutation ($email: String!, $password: String!, $orgId: ID) {
  login(email: $email, password: $password, orgId: $orgId) { accessToken refreshToken }
}`;
const REFRESH = 'mutation ($token: String!) { refreshSession(refreshToken: $token) { accessToken } }';
const CREATE_RESOURCE = 'mutation ($input: CreateResourceInput!) { createResource(input: $input) { id } }';
const GRANT = `mutation ($r: ID!, $p: ID!) { grantAccess(resourceId: $r, principalId: $p, level: READ) { id } }`;
const CHECK = `query ($resource: String!, $principalId: ID, $orgId: ID) {
  checkAccess(resource: $resource, level: READ, principalId: $principalId, orgId: $orgId) { allowed reason }
}`;

let server: TestGateway;
let sink: SmtpSink;
let owner: Person;
let strictOrg: string;
let lenientOrg: string;

beforeAll(async () => {
  sink = await startSmtpSink();
  server = await startTestGateway({ SMTP_URL: sink.url });
  owner = await person(server, 'strictowner');
  await server.sql('UPDATE users SET email_verified_at = now() WHERE id = $1', [owner.id]);
  strictOrg = await createOrgAs(server, owner.token, 'Strict');
  lenientOrg = await createOrgAs(server, owner.token, 'Lenient');
});

afterAll(async () => {
  await server.close();
  await sink.close();
});

function expectUnverified(response: GraphQLResponse) {
  expect(errorCode(response)).toBe('FORBIDDEN');
  expect(response.errors?.[0].extensions?.reason).toBe('auth.email_unverified');
}

const setRequirement = (orgId: string, requireVerifiedEmail: boolean, token = owner.token) =>
  server.graphql(UPDATE_ORG, { id: orgId, input: { requireVerifiedEmail } }, { token });

const login = (email: string, orgId?: string) => server.graphql(LOGIN, { email, password: MEMBER_PASSWORD, orgId });

const forwardAuth = (token: string, resourceName?: string) =>
  fetch(`${server.url}/auth/check`, {
    headers: { authorization: `Bearer ${token}`, ...(resourceName ? { 'x-resource': resourceName } : {}) },
  });

/** The org an access token was issued for (its `org` claim). */
function orgOfToken(accessToken: string): string | undefined {
  return JSON.parse(Buffer.from(accessToken.split('.')[1], 'base64url').toString()).org;
}

/** Verifies the member's address through the mailed link. */
async function verifyEmail(member: Person): Promise<void> {
  const since = sink.messages.length;
  await server.graphql('mutation { requestEmailVerification }', {}, { token: member.token });
  const token = tokenFrom(await sink.waitFor(member.email, since), '/email/verify');
  const response = await server.graphql('mutation ($token: String!) { verifyEmail(token: $token) }', { token });
  expect(response.data?.verifyEmail).toBe(true);
}

it('is off by default, and only holders of org:update turn it on (audited)', async () => {
  const org = await server.graphql(ROLES, { id: strictOrg }, { token: owner.token });
  expect(org.data.org.requireVerifiedEmail).toBe(false);

  const viewer = await person(server, 'strictviewer', { orgId: strictOrg, role: 'viewer' });
  await server.sql('UPDATE users SET email_verified_at = now() WHERE id = $1', [viewer.id]);
  const refused = await setRequirement(strictOrg, true, viewer.token);
  expect(errorCode(refused)).toBe('FORBIDDEN');
  expect(refused.errors?.[0].extensions?.reason).toBe('auth.forbidden');

  // An unverified owner may not turn it on: it would shut them out at once.
  const unverifiedAdmin = await person(server, 'strictadmin', { orgId: strictOrg, role: 'owner' });
  const selfLockout = await setRequirement(strictOrg, true, unverifiedAdmin.token);
  expectUnverified(selfLockout);
  expect((await server.graphql(ROLES, { id: strictOrg }, { token: owner.token })).data.org.requireVerifiedEmail).toBe(
    false,
  );

  const updated = await setRequirement(strictOrg, true);
  expect(updated.errors).toBeUndefined();
  expect(updated.data.updateOrg).toEqual({ id: strictOrg, requireVerifiedEmail: true });
  const [event] = await server.sql(
    `SELECT changes FROM audit_logs WHERE org_id = $1 AND action = 'org.updated' ORDER BY seq DESC LIMIT 1`,
    [strictOrg],
  );
  expect(event.changes).toMatchObject({
    before: { requireVerifiedEmail: false },
    after: { requireVerifiedEmail: true },
  });
});

it('shuts an unverified member out of that org only, everywhere its membership gives something, until they verify', async () => {
  await setRequirement(strictOrg, false);
  const member = await person(server, 'unverified');
  await addMember(server, strictOrg, member.id, 'viewer');
  await addMember(server, lenientOrg, member.id, 'viewer');
  await server.sql('UPDATE users SET default_org_id = $1 WHERE id = $2', [strictOrg, member.id]);
  const api = await server.graphql(
    CREATE_RESOURCE,
    { input: { orgId: strictOrg, name: 'strict-api', environment: 'prod', category: 'api' } },
    { token: owner.token },
  );
  await server.graphql(GRANT, { r: api.data.createResource.id, p: member.id }, { token: owner.token });
  // A session in the strict org, opened before the requirement.
  const before = (await login(member.email, strictOrg)).data.login;
  expect((await forwardAuth(before.accessToken, 'strict-api')).status).toBe(200);

  expect((await setRequirement(strictOrg, true)).data.updateOrg.requireVerifiedEmail).toBe(true);

  // Org-scoped permissions.
  expectUnverified(await server.graphql(ROLES, { id: strictOrg }, { token: member.token }));
  const lenient = await server.graphql(ROLES, { id: lenientOrg }, { token: member.token });
  expect(lenient.errors).toBeUndefined();
  expect(lenient.data.org.roles.length).toBeGreaterThan(0);

  // Sign-in and refresh into that org; sign-in without an org lands in another one.
  expectUnverified(await login(member.email, strictOrg));
  expect((await login(member.email, lenientOrg)).data?.login.accessToken).toBeDefined();
  const landed = (await login(member.email)).data.login.accessToken;
  expect(orgOfToken(landed)).toBe(lenientOrg);
  expectUnverified(await server.graphql(REFRESH, { token: before.refreshToken }));

  // Resource use: forward auth for the org's token, and access decisions about the member.
  expect((await forwardAuth(before.accessToken)).status).toBe(403);
  expect((await forwardAuth(before.accessToken, 'strict-api')).status).toBe(403);
  const decision = await server.graphql(
    CHECK,
    { resource: 'strict-api', principalId: member.id, orgId: strictOrg },
    { token: owner.token },
  );
  expect(decision.data.checkAccess).toEqual({
    allowed: false,
    reason: 'the org requires a verified email address',
  });

  // Their own memberships, roles and keys stay readable everywhere, the strict org's included: the
  // refusal is for what the membership gives, not for the member's sight of themselves.
  const self = await server.graphql(
    '{ me { memberships { status org { id } role { key } } apiKeys(first: 5) { totalCount } } }',
    {},
    { token: member.token },
  );
  expect(self.errors).toBeUndefined();
  expect(self.data.me.memberships).toHaveLength(2);
  expect(self.data.me.memberships.map((m: { role: { key: string } }) => m.role.key)).toEqual(['viewer', 'viewer']);

  // The audit export refuses with the same reason, never a 500.
  await server.sql(
    `UPDATE memberships SET role_id = (SELECT id FROM roles WHERE org_id = $1 AND key = 'admin')
      WHERE org_id = $1 AND user_id = $2`,
    [strictOrg, member.id],
  );
  const exported = await fetch(`${server.url}/audit/export?orgId=${strictOrg}`, {
    headers: { authorization: `Bearer ${landed}` },
  });
  expect(exported.status).toBe(403);
  expect(await exported.json()).toMatchObject({ errors: [{ extensions: { reason: 'auth.email_unverified' } }] });

  // The org's resources list holds nothing for them, though they hold a grant there.
  const listed = await server.graphql(
    'query ($id: ID!) { org(id: $id) { resources(first: 5) { totalCount edges { node { id } } } } }',
    { id: strictOrg },
    { token: member.token },
  );
  expect(listed.errors).toBeUndefined();
  expect(listed.data.org.resources).toEqual({ totalCount: 0, edges: [] });

  // Self-service still works, so the member can verify.
  await verifyEmail(member);

  expect((await server.graphql(ROLES, { id: strictOrg }, { token: member.token })).errors).toBeUndefined();
  expect((await login(member.email, strictOrg)).data?.login.accessToken).toBeDefined();
  expect(
    (await server.graphql(REFRESH, { token: before.refreshToken })).data?.refreshSession.accessToken,
  ).toBeDefined();
  expect((await forwardAuth(before.accessToken, 'strict-api')).status).toBe(200);
  const allowed = await server.graphql(
    CHECK,
    { resource: 'strict-api', principalId: member.id, orgId: strictOrg },
    { token: owner.token },
  );
  expect(allowed.data.checkAccess.allowed).toBe(true);
});

it('leaves super users alone', async () => {
  await setRequirement(strictOrg, true);
  await server.sql('UPDATE users SET email_verified_at = NULL WHERE lower(email) = lower($1)', [OWNER_EMAIL]);
  const response = await server.graphql(LOGIN, { email: OWNER_EMAIL, password: OWNER_PASSWORD, orgId: strictOrg });
  expect(response.errors).toBeUndefined();
  const roles = await server.graphql(ROLES, { id: strictOrg }, { token: response.data.login.accessToken });
  expect(roles.errors).toBeUndefined();
});

it('shuts out unverified customers too, but never service accounts', async () => {
  await setRequirement(strictOrg, true);
  const [customer] = await server.sql(
    `INSERT INTO users (email, kind, customer_id) VALUES ($1, 'CUSTOMER', 'strict-customer') RETURNING id`,
    [`customer.${Date.now()}@example.com`],
  );
  const [machine] = await server.sql(
    `INSERT INTO users (kind, first_name) VALUES ('SERVICE_ACCOUNT', 'bot') RETURNING id`,
  );
  await addMember(server, strictOrg, customer.id, 'viewer');
  await addMember(server, strictOrg, machine.id, 'viewer');
  const created = await server.graphql(
    CREATE_RESOURCE,
    {
      input: {
        orgId: strictOrg,
        name: 'customer-portal',
        environment: 'prod',
        category: 'app',
        customerIds: ['strict-customer'],
      },
    },
    { token: owner.token },
  );
  await server.graphql(GRANT, { r: created.data.createResource.id, p: machine.id }, { token: owner.token });
  const decide = async (principalId: string) =>
    (
      await server.graphql(
        CHECK,
        { resource: 'customer-portal', principalId, orgId: strictOrg },
        { token: owner.token },
      )
    ).data.checkAccess;

  expect(await decide(customer.id)).toEqual({ allowed: false, reason: 'the org requires a verified email address' });
  expect((await decide(machine.id)).allowed).toBe(true);
  await server.sql('UPDATE users SET email_verified_at = now() WHERE id = $1', [customer.id]);
  expect((await decide(customer.id)).allowed).toBe(true);
});

it('opens no session inside the org for an unverified account joining by link; an email invitation proves the address', async () => {
  await setRequirement(strictOrg, true);
  const viewerRole = (await server.sql(`SELECT id FROM roles WHERE org_id = $1 AND key = 'viewer'`, [strictOrg]))[0].id;
  const ACCEPT = `mutation ($input: AcceptInvitationInput!) { acceptInvitation(input: $input) { accessToken } }`;

  const link = await server.graphql(
    'mutation ($input: CreateInviteLinkInput!) { createInviteLink(input: $input) { token } }',
    { input: { orgId: strictOrg, roleId: viewerRole } },
    { token: owner.token },
  );
  const joiner = await person(server, 'linkjoiner');
  const byLink = await server.graphql(
    ACCEPT,
    { input: { token: link.data.createInviteLink.token } },
    { token: joiner.token },
  );
  expect(byLink.errors).toBeUndefined();
  expect(orgOfToken(byLink.data.acceptInvitation.accessToken)).toBeUndefined();

  const invitee = await person(server, 'emailjoiner');
  const since = sink.messages.length;
  const invited = await server.graphql(
    'mutation ($input: InviteInput!) { invite(input: $input) { id } }',
    { input: { orgId: strictOrg, email: invitee.email, roleId: viewerRole } },
    { token: owner.token },
  );
  expect(invited.errors).toBeUndefined();
  const token = tokenFrom(await sink.waitFor(invitee.email, since), '/invitations/accept');
  const byEmail = await server.graphql(ACCEPT, { input: { token } }, { token: invitee.token });
  expect(byEmail.errors).toBeUndefined();
  expect(orgOfToken(byEmail.data.acceptInvitation.accessToken)).toBe(strictOrg);
  const [account] = await server.sql('SELECT email_verified_at FROM users WHERE id = $1', [invitee.id]);
  expect(account.email_verified_at).not.toBeNull();
});
