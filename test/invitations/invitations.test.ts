import { createOrgAs, person, roleId, type Person } from '../support/fixtures';
import { errorCode, withNodes } from '../support/graphql-client';
import { startSmtpSink, tokenFrom, type SmtpSink } from '../support/smtp-sink';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

let sink: SmtpSink;
let server: TestGateway;
let owner: Person;
let orgId: string;

const INVITE = `mutation ($input: InviteInput!) { invite(input: $input) { id email status kind expiresAt role { key } invitedBy { id } } }`;
const ACCEPT = `mutation ($input: AcceptInvitationInput!) { acceptInvitation(input: $input) { accessToken refreshToken user { id email firstName kind customerId } } }`;
const LINK = `mutation ($input: CreateInviteLinkInput!) { createInviteLink(input: $input) { url token expiresAt invitation { id kind status maxUses } } }`;
const INVITATIONS = `query ($orgId: ID!, $status: InvitationStatus) { org(id: $orgId) { invitations(status: $status, first: 100) { edges { node { id email status } } } } }`;
const NEW_PASSWORD = 'a brand new passphrase';

async function invite(email: string, extra: Record<string, unknown> = {}, token = owner.token) {
  const response = await server.graphql(
    INVITE,
    { input: { orgId, email, roleId: await roleId(server, orgId, 'editor'), ...extra } },
    { token },
  );
  return response;
}

async function invitationToken(email: string): Promise<string> {
  const since = sink.messages.length;
  const response = await invite(email);
  expect(response.errors).toBeUndefined();
  return tokenFrom(await sink.waitFor(email, since), '/invitations/accept');
}

const accept = (input: Record<string, unknown>, token?: string) => server.graphql(ACCEPT, { input }, { token });

beforeAll(async () => {
  sink = await startSmtpSink();
  server = await startTestGateway({ SMTP_URL: sink.url });
  owner = await person(server, 'inviter');
  await server.sql(`UPDATE users SET first_name = 'Ines', last_name = 'Inviter' WHERE id = $1`, [owner.id]);
  orgId = await createOrgAs(server, owner.token, 'Invite Org');
});

afterAll(async () => {
  await server.close();
  await sink.close();
});

describe('email invitations', () => {
  it('invite → email → accept → sign in, with the invited role, groups and teams', async () => {
    const [group] = await server.sql(`INSERT INTO groups (org_id, name) VALUES ($1, 'Support') RETURNING id`, [orgId]);
    const [team] = await server.sql(`INSERT INTO teams (org_id, name, slug) VALUES ($1, 'Core', 'core') RETURNING id`, [
      orgId,
    ]);
    const since = sink.messages.length;
    const invited = await invite('New.Person@Example.com', {
      groupIds: [group.id],
      teamIds: [team.id],
      message: 'Welcome aboard!',
    });
    expect(invited.data.invite).toMatchObject({
      email: 'New.Person@Example.com',
      status: 'PENDING',
      kind: 'EMAIL',
      role: { key: 'editor' },
      invitedBy: { id: owner.id },
    });
    const expiresIn = new Date(invited.data.invite.expiresAt).getTime() - Date.now();
    expect(expiresIn).toBeGreaterThan(7 * 86_400_000 - 60_000);
    expect(expiresIn).toBeLessThanOrEqual(7 * 86_400_000);

    const mail = await sink.waitFor('new.person@example.com', since);
    expect(mail.subject).toBe('You are invited to join Invite Org');
    expect(mail.text).toContain('Ines Inviter invited you to join Invite Org');
    expect(mail.text).toContain('Welcome aboard!');
    expect(mail.html).toContain('http://portcullis.test/invitations/accept?token=');
    const token = tokenFrom(mail, '/invitations/accept');
    expect(Buffer.from(token, 'base64url').length).toBeGreaterThanOrEqual(16);
    expect(JSON.stringify(await server.sql('SELECT * FROM invitations'))).not.toContain(token);

    const accepted = await accept({ token, password: NEW_PASSWORD, firstName: 'New', lastName: 'Person' });
    expect(accepted.errors).toBeUndefined();
    const userId = accepted.data.acceptInvitation.user.id;
    expect(accepted.data.acceptInvitation.user).toMatchObject({
      email: 'New.Person@Example.com',
      firstName: 'New',
      kind: 'HUMAN',
    });

    const me = await server.graphql(
      '{ me { memberships { org { id } role { key } } } }',
      {},
      { token: accepted.data.acceptInvitation.accessToken },
    );
    expect(me.data.me.memberships).toEqual([{ org: { id: orgId }, role: { key: 'editor' } }]);
    expect(
      await server.sql('SELECT 1 FROM group_members WHERE user_id = $1 AND group_id = $2', [userId, group.id]),
    ).toHaveLength(1);
    expect(
      await server.sql('SELECT 1 FROM team_members WHERE user_id = $1 AND team_id = $2', [userId, team.id]),
    ).toHaveLength(1);
    const login = await server.graphql(
      'mutation { login(email: "new.person@example.com", password: "a brand new passphrase") { accessToken } }',
    );
    expect(login.errors).toBeUndefined();

    // Single use.
    expect(errorCode(await accept({ token, password: NEW_PASSWORD, firstName: 'A', lastName: 'B' }))).toBe('NOT_FOUND');
    const listed = await server.graphql(INVITATIONS, { orgId, status: 'ACCEPTED' }, { token: owner.token });
    expect(withNodes(listed.data.org.invitations).map((i: { email: string }) => i.email)).toContain(
      'New.Person@Example.com',
    );
  });

  it('lets an existing account accept while signed in, and only the addressee', async () => {
    const existing = await person(server, 'existing');
    const token = await invitationToken(existing.email);
    const stranger = await person(server, 'wrongperson');
    expect(errorCode(await accept({ token }, stranger.token))).toBe('FORBIDDEN');
    expect(errorCode(await accept({ token, password: NEW_PASSWORD, firstName: 'X', lastName: 'Y' }))).toBe('CONFLICT');
    const accepted = await accept({ token }, existing.token);
    expect(accepted.errors).toBeUndefined();
    expect(accepted.data.acceptInvitation.user.id).toBe(existing.id);
  });

  it('refuses to invite an existing member, and a role above the inviter', async () => {
    const member = await person(server, 'already', { orgId, role: 'viewer' });
    expect((await invite(member.email)).errors?.[0].extensions).toMatchObject({
      code: 'CONFLICT',
      reason: 'invitation.already_member',
    });
    const admin = await person(server, 'invadmin', { orgId, role: 'admin' });
    const escalation = await server.graphql(
      INVITE,
      { input: { orgId, email: 'boss@example.com', roleId: await roleId(server, orgId, 'owner') } },
      { token: admin.token },
    );
    expect(escalation.errors?.[0].extensions?.reason).toBe('role.escalation');
    const viewer = await person(server, 'invviewer', { orgId, role: 'viewer' });
    expect(errorCode(await invite('x@example.com', {}, viewer.token))).toBe('FORBIDDEN');
  });

  it('resend issues a new token: the old one stops working', async () => {
    const email = 'resend.me@example.com';
    const oldToken = await invitationToken(email);
    const [{ id }] = await server.sql(`SELECT id FROM invitations WHERE email = $1 AND status = 'PENDING'`, [email]);
    await server.sql(`UPDATE invitations SET expires_at = now() + interval '1 hour' WHERE id = $1`, [id]);
    const since = sink.messages.length;
    const resent = await server.graphql(
      'mutation ($id: ID!) { resendInvitation(id: $id) { id expiresAt status } }',
      { id },
      { token: owner.token },
    );
    expect(new Date(resent.data.resendInvitation.expiresAt).getTime()).toBeGreaterThan(Date.now() + 6 * 86_400_000);
    const newToken = tokenFrom(await sink.waitFor(email, since), '/invitations/accept');
    expect(newToken).not.toBe(oldToken);
    expect(errorCode(await accept({ token: oldToken, password: NEW_PASSWORD, firstName: 'R', lastName: 'S' }))).toBe(
      'NOT_FOUND',
    );
    expect(
      (await accept({ token: newToken, password: NEW_PASSWORD, firstName: 'R', lastName: 'S' })).errors,
    ).toBeUndefined();
  });

  it('refuses expired and revoked invitations, and shows expiry without a background job', async () => {
    const expiredToken = await invitationToken('expired@example.com');
    await server.sql(
      `UPDATE invitations SET expires_at = now() - interval '1 second' WHERE email = 'expired@example.com'`,
    );
    expect(
      errorCode(await accept({ token: expiredToken, password: NEW_PASSWORD, firstName: 'E', lastName: 'X' })),
    ).toBe('NOT_FOUND');
    const expired = await server.graphql(INVITATIONS, { orgId, status: 'EXPIRED' }, { token: owner.token });
    expect(withNodes(expired.data.org.invitations)).toEqual([
      expect.objectContaining({ email: 'expired@example.com', status: 'EXPIRED' }),
    ]);

    const revokedToken = await invitationToken('revoked@example.com');
    const [{ id }] = await server.sql(`SELECT id FROM invitations WHERE email = 'revoked@example.com'`);
    const revoked = await server.graphql(
      'mutation ($id: ID!) { revokeInvitation(id: $id) { status } }',
      { id },
      { token: owner.token },
    );
    expect(revoked.data.revokeInvitation.status).toBe('REVOKED');
    expect(
      errorCode(await accept({ token: revokedToken, password: NEW_PASSWORD, firstName: 'R', lastName: 'V' })),
    ).toBe('NOT_FOUND');
    const pending = await server.graphql(INVITATIONS, { orgId, status: 'PENDING' }, { token: owner.token });
    expect(withNodes(pending.data.org.invitations).map((i: { email: string }) => i.email)).not.toContain(
      'revoked@example.com',
    );
  });

  it('makes a customer of an invitation with a customerId, and rejects weak passwords', async () => {
    const since = sink.messages.length;
    await invite('client@example.com', { customerId: 'cust-42' });
    const token = tokenFrom(await sink.waitFor('client@example.com', since), '/invitations/accept');
    const weak = await accept({ token, password: 'short', firstName: 'C', lastName: 'L' });
    expect(weak.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'password.too_short' });
    const accepted = await accept({ token, password: NEW_PASSWORD, firstName: 'C', lastName: 'L' });
    expect(accepted.data.acceptInvitation.user).toMatchObject({ kind: 'CUSTOMER', customerId: 'cust-42' });
  });
});

describe('invitation links', () => {
  it('can be used by two people until it runs out', async () => {
    const link = await server.graphql(
      LINK,
      { input: { orgId, roleId: await roleId(server, orgId, 'viewer'), maxUses: 2, expiresInSeconds: 3600 } },
      { token: owner.token },
    );
    expect(link.errors).toBeUndefined();
    const { token, url } = link.data.createInviteLink;
    expect(url).toBe(`http://portcullis.test/invitations/accept?token=${token}`);
    for (const name of ['first', 'second']) {
      const joined = await accept({
        token,
        email: `${name}.linker@example.com`,
        password: NEW_PASSWORD,
        firstName: name,
        lastName: 'Linker',
      });
      expect(joined.errors).toBeUndefined();
    }
    expect(
      errorCode(
        await accept({
          token,
          email: 'third.linker@example.com',
          password: NEW_PASSWORD,
          firstName: 't',
          lastName: 'l',
        }),
      ),
    ).toBe('NOT_FOUND');
    const [row] = await server.sql('SELECT use_count, status FROM invitations WHERE id = $1', [
      link.data.createInviteLink.invitation.id,
    ]);
    expect(row).toEqual({ use_count: 2, status: 'ACCEPTED' });
  });

  it('needs an email for a new account, lasts at most 24 hours', async () => {
    const viewerRole = await roleId(server, orgId, 'viewer');
    const tooLong = await server.graphql(
      LINK,
      { input: { orgId, roleId: viewerRole, expiresInSeconds: 86_401 } },
      { token: owner.token },
    );
    expect(errorCode(tooLong)).toBe('BAD_USER_INPUT');
    const link = await server.graphql(LINK, { input: { orgId, roleId: viewerRole } }, { token: owner.token });
    expect(new Date(link.data.createInviteLink.expiresAt).getTime() - Date.now()).toBeLessThanOrEqual(86_400_000);
    const noEmail = await accept({
      token: link.data.createInviteLink.token,
      password: NEW_PASSWORD,
      firstName: 'N',
      lastName: 'E',
    });
    expect(errorCode(noEmail)).toBe('BAD_USER_INPUT');
  });
});

describe('audit', () => {
  it('records each invitation change once and never a token', async () => {
    const actions = await server.sql(`SELECT action, changes FROM audit_logs WHERE action LIKE 'invitation.%'`);
    expect(actions.map((row) => row.action)).toEqual(
      expect.arrayContaining([
        'invitation.created',
        'invitation.accepted',
        'invitation.resent',
        'invitation.revoked',
        'invitation.link_created',
      ]),
    );
    expect(JSON.stringify(actions)).not.toMatch(/token/i);
  });
});

describe('invitation escalation through groups', () => {
  it('refuses to invite into a group whose role holds more than the inviter', async () => {
    const admin = await person(server, 'groupinviter', { orgId, role: 'admin' });
    const [ownersGroup] = await server.sql(
      `INSERT INTO groups (org_id, name, role_id) VALUES ($1, 'Owners club', (SELECT id FROM roles WHERE org_id = $1 AND key = 'owner')) RETURNING id`,
      [orgId],
    );
    const response = await invite('climber@example.com', { groupIds: [ownersGroup.id] }, admin.token);
    expect(response.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'role.escalation' });
    expect(await server.sql(`SELECT 1 FROM invitations WHERE email = 'climber@example.com'`)).toEqual([]);
  });
});
