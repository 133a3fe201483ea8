import { randomBytes } from 'node:crypto';
import { createOrgAs, MEMBER_PASSWORD, person, roleId, uniqueEmail } from '../support/fixtures';
import type { GraphQLResponse } from '../support/graphql-client';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { expectRateLimited, freshAddress, from } from './support';

const REFRESH = 'mutation ($token: String!) { refreshSession(refreshToken: $token) { refreshToken } }';
const RESET = 'mutation ($token: String!) { resetPassword(token: $token, newPassword: "a brand new passphrase") }';
const ACCEPT = 'mutation ($token: String!) { acceptInvitation(input: { token: $token }) { accessToken } }';
const CHANGE =
  'mutation ($current: String!) { changePassword(currentPassword: $current, newPassword: "a brand new passphrase") }';
const LINK =
  'mutation ($orgId: ID!, $roleId: ID!) { createInviteLink(input: { orgId: $orgId, roleId: $roleId }) { token } }';
const INVITE =
  'mutation ($orgId: ID!, $roleId: ID!, $email: String!) { invite(input: { orgId: $orgId, roleId: $roleId, email: $email }) { id } }';
const RESEND = 'mutation ($id: ID!) { resendInvitation(id: $id) { id } }';

/** Every limit of these operations is set to this, so a third attempt is the first refused. */
const LIMIT = 2;
const LIMIT_VARIABLES = [
  'RATE_LIMIT_REFRESH_PER_IP',
  'RATE_LIMIT_REFRESH_PER_TOKEN',
  'RATE_LIMIT_CHANGE_PASSWORD_PER_IP',
  'RATE_LIMIT_CHANGE_PASSWORD_PER_ACCOUNT',
  'RATE_LIMIT_RESET_PASSWORD_PER_IP',
  'RATE_LIMIT_RESET_PASSWORD_PER_TOKEN',
  'RATE_LIMIT_INVITE_PER_IP',
  'RATE_LIMIT_INVITATION_MAIL_PER_EMAIL',
  'RATE_LIMIT_RESEND_INVITATION_PER_IP',
  'RATE_LIMIT_RESEND_INVITATION_PER_INVITATION',
  'RATE_LIMIT_INVITE_LINK_PER_IP',
  'RATE_LIMIT_INVITE_LINK_PER_ORG',
  'RATE_LIMIT_ACCEPT_INVITATION_PER_IP',
  'RATE_LIMIT_ACCEPT_INVITATION_PER_TOKEN',
];

let server: TestGateway;
let sink: SmtpSink;
let ownerToken: string;

beforeAll(async () => {
  sink = await startSmtpSink();
  server = await startTestGateway({
    SMTP_URL: sink.url,
    TRUST_PROXY: '1',
    ...Object.fromEntries(LIMIT_VARIABLES.map((name) => [name, `${LIMIT}/1h`])),
  });
  ownerToken = (await server.login()).accessToken;
});

afterAll(async () => {
  await server.close();
  await sink.close();
});

const randomToken = () => randomBytes(32).toString('base64url');
const send = (query: string, variables: Record<string, unknown>, address: string, token?: string) =>
  server.graphql(query, variables, from(address, [], token));

/** An org of the owner's and its viewer role. */
async function newOrg() {
  const orgId = await createOrgAs(server, ownerToken, `Limits ${randomBytes(3).toString('hex')}`);
  return { orgId, roleId: await roleId(server, orgId, 'viewer') };
}

/** Runs LIMIT attempts, which the limit lets through, then one more, which it refuses. */
async function expectRefusedAfterLimit(attempt: (n: number) => Promise<GraphQLResponse>) {
  for (let n = 0; n < LIMIT; n++) expect((await attempt(n)).errors?.[0]?.extensions?.code).not.toBe('RATE_LIMITED');
  expectRateLimited(await attempt(LIMIT));
}

describe('per target, whatever address the attempts come from', () => {
  it('refreshSession counts per refresh token', async () => {
    const token = randomToken();
    await expectRefusedAfterLimit(() => send(REFRESH, { token }, freshAddress()));
  });

  it('resetPassword counts per reset token', async () => {
    const token = randomToken();
    await expectRefusedAfterLimit(() => send(RESET, { token }, freshAddress()));
  });

  it('acceptInvitation counts per invitation token', async () => {
    const token = randomToken();
    await expectRefusedAfterLimit(() => send(ACCEPT, { token }, freshAddress()));
  });

  it('changePassword counts per account, and another account is not affected', async () => {
    const member = await person(server, 'changer');
    await expectRefusedAfterLimit(() => send(CHANGE, { current: 'a wrong password' }, freshAddress(), member.token));
    const other = await person(server, 'other');
    const response = await send(CHANGE, { current: MEMBER_PASSWORD }, freshAddress(), other.token);
    expect(response.data?.changePassword).toBe(true);
  });

  it('createInviteLink counts per org', async () => {
    const org = await newOrg();
    await expectRefusedAfterLimit(() => send(LINK, org, freshAddress(), ownerToken));
    expect((await send(LINK, await newOrg(), freshAddress(), ownerToken)).errors).toBeUndefined();
  });

  it('invite counts per normalised email, across orgs', async () => {
    const email = uniqueEmail('josé').normalize('NFC');
    const spellings = [email, email.toUpperCase().normalize('NFD'), email.normalize('NFD')];
    await expectRefusedAfterLimit(async (n) =>
      send(INVITE, { ...(await newOrg()), email: spellings[n] }, freshAddress(), ownerToken),
    );
  });
});

describe('per client address, whatever the target', () => {
  it('refreshSession counts only failed refreshes', async () => {
    const address = freshAddress();
    let { refreshToken } = await server.login();
    for (let n = 0; n < LIMIT + 2; n++) {
      const response = await send(REFRESH, { token: refreshToken }, address);
      expect(response.errors).toBeUndefined();
      refreshToken = response.data.refreshSession.refreshToken;
    }
    await expectRefusedAfterLimit(() => send(REFRESH, { token: randomToken() }, address));
  });

  it.each<[string, (address: string) => Promise<GraphQLResponse>]>([
    ['resetPassword', (address) => send(RESET, { token: randomToken() }, address)],
    ['acceptInvitation', (address) => send(ACCEPT, { token: randomToken() }, address)],
    [
      'changePassword',
      async (address) => send(CHANGE, { current: 'a wrong password' }, address, (await person(server, 'ip')).token),
    ],
    ['createInviteLink', async (address) => send(LINK, await newOrg(), address, ownerToken)],
    ['invite', async (address) => send(INVITE, { ...(await newOrg()), email: uniqueEmail('ip') }, address, ownerToken)],
    [
      'resendInvitation',
      async (address) => {
        const invited = await send(
          INVITE,
          { ...(await newOrg()), email: uniqueEmail('ip') },
          freshAddress(),
          ownerToken,
        );
        return send(RESEND, { id: invited.data.invite.id }, address, ownerToken);
      },
    ],
  ])('%s', async (_operation, attempt) => {
    const address = freshAddress();
    await expectRefusedAfterLimit(() => attempt(address));
  });
});
