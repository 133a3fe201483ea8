import { Client } from 'pg';
import { PasswordHasher } from '../../src/core/crypto/password-hasher';
import { createTestDatabase } from '../support/database';
import { gatewayEnv, runScript } from '../support/spawn-gateway';
import { TEST_SECRET_KEY } from '../support/test-gateway';

/** `npm run bootstrap -- --email … --org …` against PostgreSQL, as an operator runs it. */

const SCRIPT = 'src/cli.ts';
const EMAIL = 'ops@example.com';
const USAGE = 'usage: portcullis bootstrap --email <email> --org <org name>';

let database: { url: string; drop(): Promise<void> };
let sql: Client;

function bootstrap(args: string[]) {
  return runScript(
    SCRIPT,
    ['bootstrap', ...args],
    gatewayEnv({ DATABASE_URL: database.url, SECRET_KEY: TEST_SECRET_KEY, BCRYPT_COST: '4' }),
  );
}

async function rows<T = any>(text: string, params: unknown[] = []): Promise<T[]> {
  return (await sql.query(text, params)).rows;
}

beforeAll(async () => {
  database = await createTestDatabase();
  sql = new Client({ connectionString: database.url });
  await sql.connect();
});

afterAll(async () => {
  await sql?.end();
  await database?.drop();
});

describe('npm run bootstrap', () => {
  it('creates a super user owning a new org, and prints its generated password once', async () => {
    const run = await bootstrap(['--email', EMAIL, '--org', 'Ops Team']);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toContain('Created org "ops-team" owned by super user ops@example.com.');
    const passwords = [...run.stdout.matchAll(/^Password \(shown once\): (\S+)$/gm)].map((match) => match[1]);
    expect(passwords).toHaveLength(1);

    const users = await rows(
      'SELECT id, super_user, password_hash, default_org_id FROM users WHERE lower(email) = lower($1)',
      [EMAIL],
    );
    expect(users).toHaveLength(1);
    const [user] = users;
    expect(user.super_user).toBe(true);
    expect((await new PasswordHasher(4).verify(passwords[0], user.password_hash)).matches).toBe(true);

    const orgs = await rows('SELECT id, name FROM orgs WHERE slug = $1', ['ops-team']);
    expect(orgs).toEqual([{ id: user.default_org_id, name: 'Ops Team' }]);
    const org = orgs[0];

    const memberships = await rows(
      'SELECT r.key FROM memberships m JOIN roles r ON r.id = m.role_id WHERE m.user_id = $1 AND m.org_id = $2',
      [user.id, org.id],
    );
    expect(memberships).toEqual([{ key: 'owner' }]);

    const audit = await rows('SELECT org_id, actor_kind, target_type, target_id FROM audit_logs WHERE action = $1', [
      'user.bootstrapped',
    ]);
    expect(audit).toEqual([{ org_id: org.id, actor_kind: 'SYSTEM', target_type: 'User', target_id: user.id }]);
  });

  it('refuses an email that already has a user, changing nothing', async () => {
    const run = await bootstrap(['--email', EMAIL, '--org', 'Second Team']);
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe(`a user with email ${EMAIL} already exists`);
    expect(run.stdout).not.toContain('Password');
    expect(await rows('SELECT count(*)::int AS n FROM users')).toEqual([{ n: 1 }]);
    expect(await rows('SELECT slug FROM orgs')).toEqual([{ slug: 'ops-team' }]);
  });

  it('prints the usage line without --org', async () => {
    const run = await bootstrap(['--email', 'someone@example.com']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(USAGE);
    expect(await rows('SELECT count(*)::int AS n FROM users')).toEqual([{ n: 1 }]);
  });
});
