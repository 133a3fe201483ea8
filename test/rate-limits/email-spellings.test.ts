import type { DataSource } from 'typeorm';
import { emailLimitKey, emailLimitKeys } from '../../src/core/rate-limit/email';
import { createUser, MEMBER_PASSWORD, uniqueEmail } from '../support/fixtures';
import { graphqlRequest } from '../support/graphql-client';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { expectRateLimited, freshAddress, from, partition, settledMailsTo } from './support';

// Issue 10, abuse limits: a per-email limit must count as one every spelling that reaches one
// account. PostgreSQL's lower() (which every account look-up uses) is not JavaScript's
// toLowerCase(): lower('İ') is "i" under libc where JS gives "i̇", and a final 'Σ' lowers to "σ"
// where JS gives "ς". Keyed by JS, each spelling got a fresh allowance against the same account.

const REQUEST_RESET = 'mutation ($email: String!) { requestPasswordReset(email: $email) }';
const LOGIN =
  'mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }';

/** The defaults: 3 reset mails per email an hour; 10 failed sign-ins per (email, address). */
const RESETS_PER_EMAIL = 3;
const LOCKOUT_THRESHOLD = 10;

let server: TestGateway;
let sink: SmtpSink;
let db: DataSource;

beforeAll(async () => {
  sink = await startSmtpSink();
  server = await startTestGateway({ SMTP_URL: sink.url, TRUST_PROXY: '1' });
  db = server.gateway.database.dataSource;
});

afterAll(async () => {
  await server.close();
  await sink.close();
});

/** `count` spellings of `email` with a different choice of its local part's i's written as a capital dotted İ. */
function dottedSpellings(email: string, count: number): string[] {
  const [local, domain] = email.split('@');
  const positions = [...local].flatMap((char, index) => (char === 'i' ? [index] : []));
  expect(2 ** positions.length - 1).toBeGreaterThanOrEqual(count);
  return Array.from({ length: count }, (_, n) => {
    const chosen = n + 1;
    const spelt = [...local].map((char, index) => {
      const bit = positions.indexOf(index);
      return bit >= 0 && chosen & (1 << bit) ? 'İ' : char;
    });
    return `${spelt.join('')}@${domain}`;
  });
}

/** How many different accounts PostgreSQL's look-up would tell these spellings apart as. */
async function accountsLookedUp(spellings: string[]): Promise<number> {
  const [{ count }] = await server.sql<{ count: number }>(
    'SELECT count(DISTINCT lower(spelling))::int AS count FROM unnest($1::text[]) AS spelling',
    [spellings.map((spelling) => spelling.trim())],
  );
  return count;
}

/** How many of `spellings` the account look-up (lower() of the trimmed email) finds an account for. */
async function reachingAnAccount(spellings: string[]): Promise<number> {
  const [{ count }] = await server.sql<{ count: number }>(
    'SELECT count(*)::int AS count FROM unnest($1::text[]) AS spelling JOIN users ON lower(users.email) = lower(spelling)',
    [spellings.map((spelling) => spelling.trim())],
  );
  return count;
}

/** A Greek address whose local part ends in sigma, which JS and PostgreSQL lower differently. */
const greekEmail = () => `${uniqueEmail('x').split('@')[0]}.οδυσσεασ@example.com`;

describe('the per-email limit key', () => {
  // Every code point up to U+1FFFF (all case pairs), and words where case mapping depends on context.
  const texts = [
    ...Array.from({ length: 0x1ffff }, (_, index) => index + 1)
      .filter((code) => code < 0xd800 || code > 0xdfff)
      .map((code) => String.fromCodePoint(code)),
    'ΑΣ',
    'ΑΣ.Α',
    'İ\u0301',
    'I\u0307',
    'ΙΙ\u0301',
  ];

  it.each([
    ['the database default (what the look-ups use)', ''],
    ['ICU root', 'COLLATE "und-x-icu"'],
    ['ICU Turkish', 'COLLATE "tr-x-icu"'],
    ['ICU Lithuanian', 'COLLATE "lt-x-icu"'],
    ['ICU Greek', 'COLLATE "el-x-icu"'],
  ])('is the same for every spelling that lower() under %s makes equal', async (_label, collation) => {
    const lowered: Array<{ lowered: string }> = await db.query(
      `SELECT lower(text ${collation}) AS lowered
         FROM unnest($1::text[]) WITH ORDINALITY AS given(text, position) ORDER BY position`,
      [texts],
    );
    const keys = await emailLimitKeys(db, texts);

    const keyOfLowered = new Map<string, string>();
    const disagreeing = texts.filter((_text, index) => {
      const known = keyOfLowered.get(lowered[index].lowered);
      if (known === undefined) keyOfLowered.set(lowered[index].lowered, keys[index]);
      return known !== undefined && known !== keys[index];
    });
    expect(disagreeing).toEqual([]);
  });

  it.each([
    [
      'dotted capital İ',
      'iris@example.com',
      ['İris@example.com', 'irİs@example.com', 'İrİs@EXAMPLE.com', 'ırıs@example.com'],
    ],
    [
      'capital, medial and final sigma',
      'οδυσσεασ@example.com',
      ['ΟΔΥΣΣΕΑΣ@example.com', 'οδυσσεας@example.com', 'ΟδυσσεαΣ@example.com'],
    ],
    ['NFD', 'josé@example.com', ['jose\u0301@example.com', 'JOSÉ@example.com', 'jose@example.com']],
    ['full-width', 'anna@example.com', ['ａｎｎａ@example.com', 'ＡＮＮＡ@ｅｘａｍｐｌｅ.ｃｏｍ']],
    [
      'case and surrounding whitespace',
      'anna@example.com',
      ['  Anna@Example.COM ', '\tANNA@EXAMPLE.COM\n', '\u3000anna@example.com'],
    ],
  ])('merges %s spellings', async (_label, email, spellings) => {
    const keys = await emailLimitKeys(db, [email, ...spellings]);
    expect(new Set(keys).size).toBe(1);
  });

  it('keeps different addresses apart, and answers a batch in order', async () => {
    const emails = ['anna@example.com', 'hanna@example.com', 'anna@example.org', 'iris@example.com'];
    const keys = await emailLimitKeys(db, emails);
    expect(new Set(keys).size).toBe(emails.length);
    expect(keys).toEqual(await Promise.all(emails.map((email) => emailLimitKey(db, email))));
    expect(await emailLimitKeys(db, [])).toEqual([]);
  });
});

describe('requestPasswordReset across spellings of one account', () => {
  it.each([
    [
      'İ for i, NFD, full-width, case and whitespace',
      () => uniqueEmail('iris.isidi'),
      (email: string) => {
        const dotted = dottedSpellings(email, 12);
        return [
          ...dotted,
          dotted[0].normalize('NFD'),
          email.toUpperCase(),
          `  ${email}\t`,
          email.replace('iris', 'ｉｒｉｓ'),
        ];
      },
    ],
    [
      'Σ, σ and ς',
      greekEmail,
      (email: string) => [email, email.toUpperCase(), email.replace(/σ@/, 'ς@'), email.replace(/σ@/, 'Σ@')],
    ],
  ])('sends at most the per-email limit of mails (%s)', async (_label, makeEmail, spellingsOf) => {
    const email = makeEmail();
    await createUser(server, email);
    const spellings = spellingsOf(email);
    // Each spelling comes from its own address, so only the per-email limit can refuse.
    const requests = spellings.flatMap((spelling) => {
      const address = freshAddress();
      return Array.from({ length: RESETS_PER_EMAIL }, () => ({ spelling, address }));
    });
    const since = sink.messages.length;
    const responses = await Promise.all(
      requests.map(({ spelling, address }) => server.graphql(REQUEST_RESET, { email: spelling }, from(address))),
    );

    const { refused, answered } = partition(responses);
    expect(answered).toHaveLength(RESETS_PER_EMAIL);
    for (const response of answered) expect(response.data?.requestPasswordReset).toBe(true);
    for (const response of refused) expectRateLimited(response);
    // Some spellings share the allowance without reaching the account (final ς, NFD, full-width:
    // the key folds them, lower() does not), so an answer spent on one of them mails nobody, and
    // which requests win the race varies from run to run.
    const answeredSpellings = requests.filter((_request, index) => answered.includes(responses[index]));
    const mailed = await reachingAnAccount(answeredSpellings.map(({ spelling }) => spelling));
    expect(await settledMailsTo(sink, email, since, mailed)).toHaveLength(mailed);
  });

  it('is attacked with spellings that are one account to the look-up (what makes the tests above meaningful)', async () => {
    const email = uniqueEmail('iris.isidi');
    expect(await accountsLookedUp([email, ...dottedSpellings(email, 12)])).toBe(1);
    const greek = greekEmail();
    expect(await accountsLookedUp([greek, greek.toUpperCase(), greek.replace(/σ@/, 'Σ@')])).toBe(1);
    // JavaScript tells them apart: a key built by toLowerCase() alone gave each its own allowance.
    expect(new Set(dottedSpellings(email, 12).map((spelling) => spelling.toLowerCase())).size).toBe(12);
    expect(greek.toUpperCase().toLowerCase()).not.toBe(greek);
  });
});

describe('login across spellings of one account', () => {
  it('refuses an address after LOCKOUT_THRESHOLD wrong passwords in total, however the email is spelt', async () => {
    const email = uniqueEmail('iris.isidi');
    await createUser(server, email);
    const spellings = dottedSpellings(email, 6);
    const guesser = freshAddress();
    const slowdownKeysBefore = await slowdownKeys();

    const responses = await Promise.all(
      spellings.flatMap((spelling) =>
        Array.from({ length: LOCKOUT_THRESHOLD + 1 }, () =>
          graphqlRequest(server.url, LOGIN, { email: spelling, password: 'not the password' }, from(guesser)),
        ),
      ),
    );

    const { refused, answered } = partition(responses);
    expect(answered).toHaveLength(LOCKOUT_THRESHOLD);
    for (const response of answered) expect(response.errors?.[0].message).toBe('Invalid email or password');
    for (const response of refused) expectRateLimited(response, 15 * 60);
    // The account-wide slowdown counted all of them on one counter.
    expect((await slowdownKeys()) - slowdownKeysBefore).toBe(1);

    expectRateLimited(await graphqlRequest(server.url, LOGIN, { email, password: MEMBER_PASSWORD }, from(guesser)));
    const owner = await graphqlRequest(server.url, LOGIN, { email, password: MEMBER_PASSWORD }, from(freshAddress()));
    expect(owner.errors).toBeUndefined();
  });
});

async function slowdownKeys(): Promise<number> {
  const [{ count }] = await server.sql<{ count: number }>(
    `SELECT count(*)::int AS count FROM rate_limits WHERE key LIKE 'loginSlowdownPerAccount:%'`,
  );
  return count;
}
