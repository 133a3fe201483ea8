import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, gatewayEnv, runScript } from '../support/spawn-gateway';
import { TEST_SECRET_KEY } from '../support/test-gateway';

let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'portcullis-workers-refused-'));
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

it('refuses WORKERS above 1 on the embedded database, before starting anything', async () => {
  const result = await runScript(
    'src/cli.ts',
    ['serve'],
    gatewayEnv({ WORKERS: '2', DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: String(await freePort()) }),
  );
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('WORKERS: above 1 requires DATABASE_URL');
  expect(await readdir(dataDir)).toEqual([]);
});

it('exits 1 with the reason, without restarting, when the workers cannot start', async () => {
  // Nothing listens there: every worker fails to open the database.
  const closedPort = await freePort();
  const result = await runScript(
    'src/cli.ts',
    ['serve'],
    gatewayEnv({
      WORKERS: '2',
      DATABASE_URL: `postgres://postgres@127.0.0.1:${closedPort}/portcullis`,
      SECRET_KEY: TEST_SECRET_KEY,
      DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      PORT: String(await freePort()),
    }),
    150_000,
  );
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('portcullis failed to start');
  expect(result.stderr).toContain('ECONNREFUSED');
  expect(result.stdout).toContain('a worker failed to start; stopping every worker');
  // Two workers started once each; none was started again.
  expect(result.stderr.match(/portcullis failed to start/g)?.length).toBeLessThanOrEqual(2);
  expect(result.stdout).not.toContain('starting another');
}, 180_000);
