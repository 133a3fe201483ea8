import bcrypt from 'bcrypt';
import { PasswordHasher } from '../../src/core/crypto/password-hasher';
import { uniqueEmail } from '../support/fixtures';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

// Equal work, so equal timing: every sign-in path spends exactly one bcrypt operation at
// BCRYPT_COST, whether the email is unknown, the password wrong, the account locked or without a
// password, or its stored hash weaker (imported). Counted, not timed: bench/ measures the time.

const BCRYPT_COST = 5;
const IMPORT_COST = 4;
const PASSWORD = 'the right password 42';
const LOGIN =
  'mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }';

let server: TestGateway;

type Operation = { op: 'compare' | 'hash'; cost: number };

const originalCompare = bcrypt.compare.bind(bcrypt) as (data: string, hash: string) => Promise<boolean>;
const originalHash = bcrypt.hash.bind(bcrypt) as (data: string, cost: number) => Promise<string>;

/** The bcrypt operations one call makes, with their cost (read from the hash or the argument). */
async function bcryptWorkOf(action: () => Promise<unknown>): Promise<Operation[]> {
  const operations: Operation[] = [];
  const compare = jest.spyOn(bcrypt, 'compare').mockImplementation(((data: string, hash: string) => {
    operations.push({ op: 'compare', cost: bcrypt.getRounds(hash) });
    return originalCompare(data, hash);
  }) as never);
  const hash = jest.spyOn(bcrypt, 'hash').mockImplementation(((data: string, cost: number) => {
    operations.push({ op: 'hash', cost });
    return originalHash(data, cost);
  }) as never);
  try {
    await action();
  } finally {
    compare.mockRestore();
    hash.mockRestore();
  }
  return operations;
}

async function account(passwordHash: string | null, extra = ''): Promise<string> {
  const email = uniqueEmail('work');
  await server.sql(`INSERT INTO users (email, password_hash${extra ? ', locked_at' : ''}) VALUES ($1, $2${extra})`, [
    email,
    passwordHash,
  ]);
  return email;
}

const login = (email: string, password: string) => server.graphql(LOGIN, { email, password });
const atConfiguredCost = (operations: Operation[]) => operations.filter((entry) => entry.cost === BCRYPT_COST);

let normal: string;
let imported: string;
let locked: string;
let lockedImported: string;
let noPassword: string;

beforeAll(async () => {
  server = await startTestGateway({ BCRYPT_COST: String(BCRYPT_COST), IMPORT_BCRYPT_COST: String(IMPORT_COST) });
  const strong = await new PasswordHasher(BCRYPT_COST).hash(PASSWORD);
  const weak = await new PasswordHasher(BCRYPT_COST).hash(PASSWORD, IMPORT_COST);
  normal = await account(strong);
  imported = await account(weak);
  locked = await account(strong, ', now()');
  lockedImported = await account(weak, ', now()');
  noPassword = await account(null);
});

afterAll(async () => {
  await server.close();
});

describe('every refused sign-in costs one bcrypt operation at BCRYPT_COST', () => {
  it.each([
    ['an unknown email', () => uniqueEmail('nobody'), 'any password at all'],
    ['a wrong password', () => normal, 'not the password'],
    ['a wrong password for an imported account', () => imported, 'not the password'],
    ['a locked account, right password', () => locked, PASSWORD],
    ['a locked account, wrong password', () => locked, 'not the password'],
    ['a locked imported account, right password', () => lockedImported, PASSWORD],
    ['an account without a password', () => noPassword, 'any password at all'],
  ])('%s', async (_label, email, password) => {
    let response: Awaited<ReturnType<typeof login>> | undefined;
    const work = await bcryptWorkOf(async () => {
      response = await login(email(), password);
    });
    expect(response?.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect(atConfiguredCost(work)).toHaveLength(1);
    expect(work.length).toBeLessThanOrEqual(2);
  });
});

describe('a successful sign-in', () => {
  it('costs one operation at BCRYPT_COST', async () => {
    const work = await bcryptWorkOf(() => login(normal, PASSWORD));
    expect(work).toEqual([{ op: 'compare', cost: BCRYPT_COST }]);
  });

  it('with an imported hash, checks it at its cost and replaces it at BCRYPT_COST', async () => {
    const work = await bcryptWorkOf(async () => {
      expect((await login(imported, PASSWORD)).data?.login?.accessToken).toBeTruthy();
    });
    expect(work).toEqual([
      { op: 'compare', cost: IMPORT_COST },
      { op: 'hash', cost: BCRYPT_COST },
    ]);
    const [row] = await server.sql('SELECT password_hash FROM users WHERE lower(email) = lower($1)', [imported]);
    expect(bcrypt.getRounds(row.password_hash)).toBe(BCRYPT_COST);
    // Upgraded: the next sign-in is an ordinary one.
    expect(await bcryptWorkOf(() => login(imported, PASSWORD))).toEqual([{ op: 'compare', cost: BCRYPT_COST }]);
  });
});
