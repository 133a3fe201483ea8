import { randomBytes } from 'node:crypto';
import { getNullableType, isLeafType, type GraphQLField } from 'graphql';
import { linkCommittedRecords } from '../../src/core/audit/chainer';
import { hashToken } from '../../src/core/crypto/opaque-token';
import { buildDeclaredSchema } from '../../src/schema';
import {
  addMember,
  createOrgAs,
  createUser,
  MEMBER_PASSWORD,
  person,
  roleId,
  uniqueEmail,
  type Person,
} from '../support/fixtures';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink';
import { OWNER_EMAIL, startTestGateway, type TestGateway } from '../support/test-gateway';

/**
 * Every mutation, called successfully over HTTP, records the audit event(s) it owes, tagged with
 * the request's id. A mutation added to the schema without a row here fails the first test.
 */

/** One successful call: the arguments and who sends them (null: anonymous). */
type Call = {
  args: Record<string, unknown>;
  as: Person | null;
  /** The recorded actor when it is not the caller: a sign-in records the user who signed in. */
  actorId?: string | null;
};

type Expectation = {
  action: string;
  /** Events the call records; one unless documented otherwise. */
  records?: number;
  /** Sets up what the call needs, in a state where it changes something. */
  prepare(): Promise<Call>;
};

let server: TestGateway;
let sink: SmtpSink;
let mutationFields: Record<string, GraphQLField<unknown, unknown>>;
/** Owns `orgId`: the caller of every org-scoped row. */
let owner: Person;
let orgId: string;
/** The bootstrap account: allowed everywhere, for orgs set up directly in the database. */
let superUser: Person;

beforeAll(async () => {
  sink = await startSmtpSink();
  server = await startTestGateway({ SMTP_URL: sink.url });
  mutationFields = (await buildDeclaredSchema()).getMutationType()!.getFields();
  owner = await person(server, 'owner');
  orgId = await createOrgAs(server, owner.token, 'Audit Completeness');
  const bootstrap = await server.login();
  superUser = { id: bootstrap.userId, email: OWNER_EMAIL, token: bootstrap.accessToken };
});

afterAll(async () => {
  await server.close();
  await sink.close();
});

const unique = (prefix: string) => `${prefix} ${randomBytes(4).toString('hex')}`;

/** The mutation document for the given arguments, typed from the schema so rows stay short. */
function documentFor(name: string, args: Record<string, unknown>, selection = '{ __typename }'): string {
  const field = mutationFields[name];
  const used = field.args.filter((arg) => arg.name in args);
  const declarations = used.map((arg) => `$${arg.name}: ${String(arg.type)}`).join(', ');
  const passed = used.map((arg) => `${arg.name}: $${arg.name}`).join(', ');
  if (isLeafType(getNullableType(field.type))) selection = '';
  return `mutation${declarations ? ` (${declarations})` : ''} { ${name}${passed ? `(${passed})` : ''} ${selection} }`;
}

/** Sends a mutation as the owner that must succeed, and answers its result: setup for a row. */
async function succeed(name: string, args: Record<string, unknown>, selection = '{ id }'): Promise<any> {
  const response = await server.graphql(documentFor(name, args, selection), args, { token: owner.token });
  if (response.errors) throw new Error(`${name} failed: ${JSON.stringify(response.errors)}`);
  return response.data[name];
}

/** A signed-in member of the org, outranked by its owner. */
const member = (role = 'viewer') => person(server, 'member', { orgId, role });

/** A member who is not signed in: the object of a call. */
async function memberAccount(role = 'viewer'): Promise<string> {
  const id = await createUser(server, uniqueEmail('target'));
  await addMember(server, orgId, id, role);
  return id;
}

const newGroup = async () => (await succeed('createGroup', { input: { orgId, name: unique('Group') } })).id as string;
const newTeam = async () => (await succeed('createTeam', { input: { orgId, name: unique('Team') } })).id as string;
const newResource = async () =>
  (await succeed('createResource', { input: { orgId, name: unique('resource') } })).id as string;
const newRole = async () =>
  (await succeed('createRole', { input: { orgId, name: unique('Role'), permissions: ['org:read'] } })).id as string;
const newKey = async () =>
  (
    await succeed(
      'createKey',
      { input: { orgId, ownerId: owner.id, name: unique('key'), scopes: ['org:read'] } },
      '{ apiKey { id } }',
    )
  ).apiKey.id as string;
const newInvitation = async () =>
  (
    await succeed('invite', {
      input: { orgId, email: uniqueEmail('invitee'), roleId: await roleId(server, orgId, 'viewer') },
    })
  ).id as string;

const newOAuthClient = async () =>
  (
    await succeed(
      'createOAuthClient',
      {
        input: {
          orgId,
          name: unique('client'),
          type: 'CONFIDENTIAL',
          redirectUris: ['https://app.example.com/callback'],
          scopes: ['openid'],
          grantTypes: ['AUTHORIZATION_CODE'],
        },
      },
      '{ client { id } }',
    )
  ).client.id as string;

async function newGrant(): Promise<{ resourceId: string; grantId: string }> {
  const resourceId = await newResource();
  const principalId = await memberAccount();
  const grant = await succeed('grantAccess', { resourceId, principalId, level: 'READ' });
  return { resourceId, grantId: grant.id };
}

async function signIn(account: Person): Promise<{ refreshToken: string; sessionId: string }> {
  const { refreshToken } = await server.login(account.email, MEMBER_PASSWORD);
  const [session] = await server.sql('SELECT id FROM sessions WHERE user_id = $1 ORDER BY created_at DESC LIMIT 1', [
    account.id,
  ]);
  return { refreshToken, sessionId: session.id };
}

const EXPECTATIONS: Record<string, Expectation> = {
  acceptInvitation: {
    action: 'invitation.accepted',
    async prepare() {
      const input = { orgId, roleId: await roleId(server, orgId, 'viewer') };
      const { token } = await succeed('createInviteLink', { input }, '{ token }');
      return { args: { input: { token } }, as: await person(server, 'joiner') };
    },
  },
  activate: {
    action: 'member.activated',
    async prepare() {
      const userId = await memberAccount();
      await server.sql(`UPDATE memberships SET status = 'DEACTIVATED' WHERE org_id = $1 AND user_id = $2`, [
        orgId,
        userId,
      ]);
      return { args: { orgId, userId }, as: owner };
    },
  },
  addGroupMembers: {
    action: 'group.members_added',
    prepare: async () => ({ args: { groupId: await newGroup(), principalIds: [await memberAccount()] }, as: owner }),
  },
  addTeamMembers: {
    action: 'team.members_added',
    prepare: async () => ({ args: { teamId: await newTeam(), userIds: [await memberAccount()] }, as: owner }),
  },
  changeEmail: {
    action: 'user.email_change_requested',
    prepare: async () => ({
      args: { newEmail: uniqueEmail('changed'), password: MEMBER_PASSWORD },
      as: await member(),
    }),
  },
  changePassword: {
    action: 'user.password_changed',
    prepare: async () => ({
      args: { currentPassword: MEMBER_PASSWORD, newPassword: 'a brand new password 1' },
      as: await member(),
    }),
  },
  changeRole: {
    action: 'member.role_changed',
    prepare: async () => ({
      args: { orgId, userId: await memberAccount(), roleId: await roleId(server, orgId, 'editor') },
      as: owner,
    }),
  },
  createGroup: {
    action: 'group.created',
    prepare: async () => ({ args: { input: { orgId, name: unique('Group') } }, as: owner }),
  },
  createInviteLink: {
    action: 'invitation.link_created',
    prepare: async () => ({ args: { input: { orgId, roleId: await roleId(server, orgId, 'viewer') } }, as: owner }),
  },
  createKey: {
    action: 'apikey.created',
    prepare: async () => ({
      args: { input: { orgId, ownerId: owner.id, name: unique('key'), scopes: ['org:read'] } },
      as: owner,
    }),
  },
  createOAuthClient: {
    action: 'oauth_client.created',
    prepare: async () => ({
      args: {
        input: {
          orgId,
          name: unique('client'),
          type: 'PUBLIC',
          redirectUris: ['http://127.0.0.1/callback'],
          scopes: ['openid'],
          grantTypes: ['AUTHORIZATION_CODE'],
        },
      },
      as: owner,
    }),
  },
  updateOAuthClient: {
    action: 'oauth_client.updated',
    prepare: async () => ({ args: { id: await newOAuthClient(), input: { name: unique('renamed') } }, as: owner }),
  },
  deleteOAuthClient: {
    action: 'oauth_client.deleted',
    prepare: async () => ({ args: { id: await newOAuthClient() }, as: owner }),
  },
  rotateOAuthClientSecret: {
    action: 'oauth_client.secret_rotated',
    prepare: async () => ({ args: { id: await newOAuthClient() }, as: owner }),
  },
  rotateSigningKey: {
    action: 'signing_key.rotated',
    prepare: async () => ({ args: { immediate: false }, as: superUser }),
  },
  createOrg: {
    action: 'org.created',
    prepare: async () => ({ args: { input: { name: unique('Org') } }, as: owner }),
  },
  createResource: {
    action: 'resource.created',
    prepare: async () => ({ args: { input: { orgId, name: unique('resource') } }, as: owner }),
  },
  createRole: {
    action: 'role.created',
    prepare: async () => ({ args: { input: { orgId, name: unique('Role'), permissions: ['org:read'] } }, as: owner }),
  },
  createServiceAccount: {
    action: 'service_account.created',
    prepare: async () => ({
      args: { input: { orgId, name: unique('robot'), roleId: await roleId(server, orgId, 'viewer') } },
      as: owner,
    }),
  },
  createTeam: {
    action: 'team.created',
    prepare: async () => ({ args: { input: { orgId, name: unique('Team') } }, as: owner }),
  },
  deactivate: {
    action: 'member.deactivated',
    prepare: async () => ({ args: { orgId, userId: await memberAccount() }, as: owner }),
  },
  deleteAccount: {
    action: 'user.deleted',
    prepare: async () => ({ args: { password: MEMBER_PASSWORD }, as: await member() }),
  },
  deleteGroup: { action: 'group.deleted', prepare: async () => ({ args: { id: await newGroup() }, as: owner }) },
  deleteOrg: {
    action: 'org.deleted',
    async prepare() {
      const id = await createOrgAs(server, owner.token, unique('Doomed'));
      const [{ slug }] = await server.sql('SELECT slug FROM orgs WHERE id = $1', [id]);
      return { args: { id, confirmSlug: slug }, as: owner };
    },
  },
  deleteResource: {
    action: 'resource.deleted',
    prepare: async () => ({ args: { id: await newResource() }, as: owner }),
  },
  deleteRole: { action: 'role.deleted', prepare: async () => ({ args: { id: await newRole() }, as: owner }) },
  deleteTeam: { action: 'team.deleted', prepare: async () => ({ args: { id: await newTeam() }, as: owner }) },
  grantAccess: {
    action: 'access.granted',
    prepare: async () => ({
      args: { resourceId: await newResource(), principalId: await memberAccount(), level: 'WRITE' },
      as: owner,
    }),
  },
  importUsers: {
    action: 'user.imported',
    // One record per created or changed user, all under the one request.
    records: 2,
    prepare: async () => ({
      args: { orgId, csv: `email,firstName\n${uniqueEmail('imported')},Ida\n${uniqueEmail('imported')},Ivo\n` },
      as: owner,
    }),
  },
  invite: {
    action: 'invitation.created',
    prepare: async () => ({
      args: { input: { orgId, email: uniqueEmail('invitee'), roleId: await roleId(server, orgId, 'viewer') } },
      as: owner,
    }),
  },
  lock: {
    action: 'user.locked',
    prepare: async () => ({ args: { userId: await memberAccount(), reason: 'audit test' }, as: owner }),
  },
  login: {
    action: 'session.login',
    async prepare() {
      const account = await member();
      return { args: { email: account.email, password: MEMBER_PASSWORD }, as: null, actorId: account.id };
    },
  },
  logout: {
    action: 'session.logout',
    async prepare() {
      const account = await member();
      const { refreshToken } = await signIn(account);
      return { args: { refreshToken }, as: null, actorId: account.id };
    },
  },
  refreshSession: {
    action: 'session.refreshed',
    async prepare() {
      const account = await member();
      const { refreshToken } = await signIn(account);
      return { args: { refreshToken }, as: null, actorId: account.id };
    },
  },
  pruneAuditLogs: {
    action: 'audit.pruned',
    async prepare() {
      // Only a chain that starts with records past the org's retention has anything to prune.
      const [org] = await server.sql(
        `INSERT INTO orgs (slug, name, audit_retention_days) VALUES ($1, 'Pruned', 1) RETURNING id`,
        [`pruned-${randomBytes(4).toString('hex')}`],
      );
      for (const age of ['2 days', '0 days']) {
        await server.sql(
          `INSERT INTO audit_logs (org_id, actor_kind, action, created_at, hash)
           VALUES ($1, 'SYSTEM', 'test.seeded', now() - $2::interval, md5($2::text))`,
          [org.id, age],
        );
      }
      // Pruning cuts only linked records; no commit of this process asked the chainer for these.
      await linkCommittedRecords(server.gateway.database.dataSource);
      return { args: { orgId: org.id }, as: superUser };
    },
  },
  removeGroupMembers: {
    action: 'group.members_removed',
    async prepare() {
      const groupId = await newGroup();
      const principalId = await memberAccount();
      await succeed('addGroupMembers', { groupId, principalIds: [principalId] });
      return { args: { groupId, principalIds: [principalId] }, as: owner };
    },
  },
  removeMember: {
    action: 'member.removed',
    prepare: async () => ({ args: { orgId, userId: await memberAccount() }, as: owner }),
  },
  removeTeamMembers: {
    action: 'team.members_removed',
    async prepare() {
      const teamId = await newTeam();
      const userId = await memberAccount();
      await succeed('addTeamMembers', { teamId, userIds: [userId] });
      return { args: { teamId, userIds: [userId] }, as: owner };
    },
  },
  requestEmailVerification: {
    action: 'user.email_verification_requested',
    prepare: async () => ({ args: {}, as: await member() }),
  },
  requestPasswordReset: {
    action: 'user.password_reset_requested',
    prepare: async () => ({ args: { email: (await member()).email }, as: null }),
  },
  resendInvitation: {
    action: 'invitation.resent',
    prepare: async () => ({ args: { id: await newInvitation() }, as: owner }),
  },
  resetPassword: {
    action: 'user.password_reset',
    async prepare() {
      const account = await member();
      const token = randomBytes(32).toString('base64url');
      await server.sql(
        `INSERT INTO password_reset_tokens (token_hash, user_id, expires_at) VALUES ($1, $2, now() + interval '1 hour')`,
        [hashToken(token), account.id],
      );
      return { args: { token, newPassword: 'a brand new password 2' }, as: null, actorId: account.id };
    },
  },
  revokeAccess: {
    action: 'access.revoked',
    prepare: async () => ({ args: { grantId: (await newGrant()).grantId }, as: owner }),
  },
  revokeAllAccess: {
    action: 'access.revoked_all',
    prepare: async () => ({ args: { resourceId: (await newGrant()).resourceId }, as: owner }),
  },
  revokeInvitation: {
    action: 'invitation.revoked',
    prepare: async () => ({ args: { id: await newInvitation() }, as: owner }),
  },
  revokeKey: { action: 'apikey.revoked', prepare: async () => ({ args: { id: await newKey() }, as: owner }) },
  revokeSession: {
    action: 'session.revoked',
    async prepare() {
      const account = await member();
      const { sessionId } = await signIn(account);
      return { args: { id: sessionId }, as: account };
    },
  },
  rotateKey: { action: 'apikey.rotated', prepare: async () => ({ args: { id: await newKey() }, as: owner }) },
  setAuditRetention: {
    action: 'audit.retention_changed',
    prepare: async () => ({ args: { orgId, days: 30 }, as: owner }),
  },
  setPassword: {
    action: 'user.password_set',
    prepare: async () => ({ args: { userId: await memberAccount(), password: 'a password set for you' }, as: owner }),
  },
  unlock: {
    action: 'user.unlocked',
    async prepare() {
      const userId = await memberAccount();
      await succeed('lock', { userId });
      return { args: { userId }, as: owner };
    },
  },
  updateGroup: {
    action: 'group.updated',
    prepare: async () => ({ args: { id: await newGroup(), input: { name: unique('Renamed') } }, as: owner }),
  },
  updateOrg: {
    action: 'org.updated',
    prepare: async () => ({ args: { id: orgId, input: { name: unique('Renamed') } }, as: owner }),
  },
  updateResource: {
    action: 'resource.updated',
    prepare: async () => ({ args: { id: await newResource(), input: { name: unique('renamed') } }, as: owner }),
  },
  updateRole: {
    action: 'role.updated',
    prepare: async () => ({ args: { id: await newRole(), input: { name: unique('Renamed') } }, as: owner }),
  },
  updateTeam: {
    action: 'team.updated',
    prepare: async () => ({ args: { id: await newTeam(), input: { name: unique('Renamed') } }, as: owner }),
  },
  updateUser: {
    action: 'user.updated',
    async prepare() {
      const account = await member();
      return { args: { id: account.id, input: { firstName: unique('Name') } }, as: account };
    },
  },
  verifyEmail: {
    action: 'user.email_verified',
    async prepare() {
      const account = await member();
      const token = randomBytes(32).toString('base64url');
      await server.sql(
        `INSERT INTO email_verification_tokens (token_hash, user_id, expires_at) VALUES ($1, $2, now() + interval '1 hour')`,
        [hashToken(token), account.id],
      );
      return { args: { token }, as: null, actorId: account.id };
    },
  },
};

test('every mutation of the schema has an audit expectation', () => {
  expect(Object.keys(EXPECTATIONS).sort()).toEqual(Object.keys(mutationFields).sort());
});

describe.each(Object.entries(EXPECTATIONS))('%s', (name, expectation) => {
  test(`writes ${expectation.action} under the request's id`, async () => {
    const call = await expectation.prepare();
    const response = await server.graphql(documentFor(name, call.args), call.args, { token: call.as?.token });
    expect(response.errors).toBeUndefined();

    const requestId = response.headers.get('x-request-id');
    expect(requestId).toBeTruthy();
    // One row per event: an account event's first row is the account chain's, which names the actor.
    const records = await server.sql(
      'SELECT DISTINCT ON (event_id) action, actor_id FROM audit_logs WHERE request_id = $1 ORDER BY event_id, seq',
      [requestId],
    );
    const actorId = call.actorId === undefined ? (call.as?.id ?? null) : call.actorId;
    expect(records).toEqual(Array(expectation.records ?? 1).fill({ action: expectation.action, actor_id: actorId }));
  });
});
