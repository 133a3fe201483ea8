/**
 * Sign-in timing per refusal class at default settings (BCRYPT_COST 12, IMPORT_BCRYPT_COST 8):
 * the median of 20 sequential tries each, over real HTTP, and its ratio to the unknown-email
 * median. Equal work should keep every ratio within 0.5–2×. Tries are interleaved class by class
 * so load drifting over the run affects every class alike; each comes from its own address
 * (TRUST_PROXY=1, X-Forwarded-For) so per-address throttling does not interfere.
 * Needs the PostgreSQL that tests use (TEST_DATABASE_URL); creates and drops its own database.
 *
 *   npm run bench:sign-in
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { startGateway } from '../src/app';
import { loadConfig } from '../src/core/config/config';
import { PasswordHasher } from '../src/core/crypto/password-hasher';
import { createLogger } from '../src/core/logger';
import { createTestDatabase } from '../test/support/database';
import { graphqlRequest } from '../test/support/graphql-client';

const TRIES = 20;
const PASSWORD = 'the right password for this bench';
const LOGIN =
  'mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }';

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

const randomAddress = () => `10.${[...randomBytes(3)].join('.')}`;

async function main() {
  const database = await createTestDatabase();
  const config = loadConfig({
    DATABASE_URL: database.url,
    SECRET_KEY: randomBytes(32).toString('hex'),
    HOST: '127.0.0.1',
    PORT: '0',
    TRUST_PROXY: '1',
    BOOTSTRAP_EMAIL: 'bench-owner@example.com',
    BOOTSTRAP_PASSWORD: PASSWORD,
  });
  const gateway = await startGateway(config, createLogger('silent'));
  try {
    const hasher = new PasswordHasher(config.auth.bcryptCost);
    const strong = await hasher.hash(PASSWORD);
    const imported = await hasher.hash(PASSWORD, config.importBcryptCost);
    const account = async (hash: string | null, locked = false) => {
      const email = `bench.${randomBytes(4).toString('hex')}@example.com`;
      await gateway.database.dataSource.query(
        `INSERT INTO users (email, password_hash, locked_at) VALUES ($1, $2, ${locked ? 'now()' : 'NULL'})`,
        [email, hash],
      );
      return email;
    };
    const fixed = (email: string) => () => email;
    const classes: Array<[label: string, email: () => string, password: string]> = [
      ['unknown email', () => `nobody.${randomBytes(4).toString('hex')}@example.com`, 'any password at all'],
      ['wrong password', fixed(await account(strong)), 'not the password'],
      ['wrong password, imported hash', fixed(await account(imported)), 'not the password'],
      ['locked account, right password', fixed(await account(strong, true)), PASSWORD],
      ['locked account, wrong password', fixed(await account(strong, true)), 'not the password'],
      ['no password (invited)', fixed(await account(null)), 'any password at all'],
    ];

    const timings = new Map<string, number[]>(classes.map(([label]) => [label, []]));
    for (let round = 0; round < TRIES + 1; round++) {
      for (const [label, email, password] of classes) {
        const started = performance.now();
        const response = await graphqlRequest(
          gateway.url,
          LOGIN,
          { email: email(), password },
          { headers: { 'x-forwarded-for': randomAddress() } },
        );
        const elapsed = performance.now() - started;
        if (response.errors?.[0]?.extensions?.code !== 'UNAUTHENTICATED') {
          throw new Error(`${label}: unexpected answer ${JSON.stringify(response.errors ?? response.data)}`);
        }
        // The first round warms up connections and the decoy hash.
        if (round > 0) timings.get(label)!.push(elapsed);
      }
    }

    const reference = median(timings.get('unknown email')!);
    console.log(`sign-in timing, ${TRIES} tries per class, BCRYPT_COST ${config.auth.bcryptCost}`);
    console.log('class'.padEnd(34), 'median ms'.padStart(10), 'p90 ms'.padStart(8), 'ratio'.padStart(7));
    for (const [label, values] of timings) {
      const sorted = [...values].sort((a, b) => a - b);
      const p90 = sorted[Math.ceil(sorted.length * 0.9) - 1];
      console.log(
        label.padEnd(34),
        median(values).toFixed(1).padStart(10),
        p90.toFixed(1).padStart(8),
        (median(values) / reference).toFixed(2).padStart(7),
      );
    }
  } finally {
    await gateway.close();
    await database.drop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
