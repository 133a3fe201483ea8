import { createOrgAs, person, roleId, uniqueEmail } from '../support/fixtures';
import type { GraphQLResponse } from '../support/graphql-client';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { expectRateLimited, freshAddress, from, partition, settledMailsTo } from './support';

const REQUEST_RESET = 'mutation ($email: String!) { requestPasswordReset(email: $email) }';
const INVITE = 'mutation ($input: InviteInput!) { invite(input: $input) { id } }';
const RESEND = 'mutation ($id: ID!) { resendInvitation(id: $id) { id } }';

/** The defaults: 3 reset mails per email an hour; 5 invitation mails per email, 3 resends per invitation. */
const RESETS_PER_EMAIL = 3;
const INVITATION_MAILS_PER_EMAIL = 5;
const RESENDS_PER_INVITATION = 3;

let server: TestGateway;
let sink: SmtpSink;

beforeAll(async () => {
  sink = await startSmtpSink();
  server = await startTestGateway({ SMTP_URL: sink.url, TRUST_PROXY: '1' });
});

afterAll(async () => {
  await server.close();
  await sink.close();
});

/** What a client can tell of an answer: everything but the wait, which moves with the clock. */
function visible(response: GraphQLResponse): string {
  if (!response.errors) return JSON.stringify(response.data);
  const { retryAfter: _wait, ...extensions } = response.errors[0].extensions ?? {};
  return JSON.stringify({ data: response.data ?? null, message: response.errors[0].message, extensions });
}

describe('requestPasswordReset', () => {
  it('sends exactly the per-email limit of mails for 30 parallel requests, however the email is spelt', async () => {
    const member = await person(server, 'bombed');
    const spellings = [member.email, member.email.toUpperCase(), `  ${member.email} `];
    const address = freshAddress();
    const since = sink.messages.length;
    const responses = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        server.graphql(REQUEST_RESET, { email: spellings[i % spellings.length] }, from(address)),
      ),
    );

    const { refused, answered } = partition(responses);
    expect(answered.map((response) => response.data?.requestPasswordReset)).toEqual(Array(RESETS_PER_EMAIL).fill(true));
    expect(refused).toHaveLength(30 - RESETS_PER_EMAIL);
    for (const response of refused) expectRateLimited(response);
    expect(await settledMailsTo(sink, member.email, since, RESETS_PER_EMAIL)).toHaveLength(RESETS_PER_EMAIL);
  });

  it('answers an address without an account exactly alike, and sends it nothing', async () => {
    const member = await person(server, 'exists');
    const ghost = uniqueEmail('ghost');
    const since = sink.messages.length;
    const burst = (email: string) => {
      const address = freshAddress();
      return Promise.all(Array.from({ length: 30 }, () => server.graphql(REQUEST_RESET, { email }, from(address))));
    };
    const [known, unknown] = await Promise.all([burst(member.email), burst(ghost)]);

    expect(unknown.map(visible).sort()).toEqual(known.map(visible).sort());
    for (const response of partition(unknown).refused) expectRateLimited(response);
    expect(await settledMailsTo(sink, member.email, since, RESETS_PER_EMAIL)).toHaveLength(RESETS_PER_EMAIL);
    expect(await settledMailsTo(sink, ghost, since, 0)).toHaveLength(0);
  });

  it('refuses one address asking for more than its limit over many emails', async () => {
    const address = freshAddress();
    const responses = await Promise.all(
      Array.from({ length: 31 }, () => server.graphql(REQUEST_RESET, { email: uniqueEmail('spray') }, from(address))),
    );
    const { refused, answered } = partition(responses);
    expect(answered).toHaveLength(30);
    expect(refused).toHaveLength(1);
    expectRateLimited(refused[0]);
    // Another address is not affected.
    const other = await server.graphql(REQUEST_RESET, { email: uniqueEmail('spray') }, from(freshAddress()));
    expect(other.data?.requestPasswordReset).toBe(true);
  });
});

describe('invitations', () => {
  let ownerToken: string;
  let orgId: string;
  let viewerRoleId: string;

  beforeAll(async () => {
    ownerToken = (await server.login()).accessToken;
    orgId = await createOrgAs(server, ownerToken, 'Bomb Org');
    viewerRoleId = await roleId(server, orgId, 'viewer');
  });

  const invite = (email: string) =>
    server.graphql(INVITE, { input: { orgId, email, roleId: viewerRoleId } }, from(freshAddress(), [], ownerToken));

  it('sends at most the per-invitation limit for 20 parallel resends, and all invitation mail shares one allowance per email', async () => {
    const email = uniqueEmail('invitee');
    const since = sink.messages.length;
    const invitationId = (await invite(email)).data.invite.id;
    const address = freshAddress();
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => server.graphql(RESEND, { id: invitationId }, from(address, [], ownerToken))),
    );

    const { refused, answered } = partition(responses);
    expect(answered).toHaveLength(RESENDS_PER_INVITATION);
    for (const response of answered) expect(response.errors).toBeUndefined();
    for (const response of refused) expectRateLimited(response);
    expect(await settledMailsTo(sink, email, since, 1 + RESENDS_PER_INVITATION)).toHaveLength(
      1 + RESENDS_PER_INVITATION,
    );

    // Inviting again mails the same address: it draws on what the resends left of its allowance.
    const remaining = INVITATION_MAILS_PER_EMAIL - 1 - RESENDS_PER_INVITATION;
    for (let i = 0; i < remaining; i++) expect((await invite(email)).errors).toBeUndefined();
    expectRateLimited(await invite(email));
    expectRateLimited(await invite(email.toUpperCase()));
    expect(await settledMailsTo(sink, email, since, INVITATION_MAILS_PER_EMAIL)).toHaveLength(
      INVITATION_MAILS_PER_EMAIL,
    );
  });
});
