import { execFile } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../../src/core/config/config';
import { openDatabase } from '../../src/core/db/database';
import { createLogger } from '../../src/core/logger';
import { SigningKeyStore } from '../../src/modules/auth/signing-keys.service';
import { gatewayEnv, runScript } from '../support/spawn-gateway';

/**
 * DATA_DIR is refused, with a message naming the folder and the problem, whenever it is not a
 * complete Portcullis folder: a new database is created only in an empty or missing folder, so a
 * folder that lost a file never comes back as a new, empty gateway with a new owner.
 */

jest.setTimeout(120_000);

const execFileAsync = promisify(execFile);

let workspace: string;
/** A complete folder, made once by a real first start and copied for each case. */
let pristine: string;

async function open(dataDir: string, env: Record<string, string> = {}) {
  const config = loadConfig({ DATA_DIR: dataDir, DATABASE_POOL_SIZE: '2', ...env });
  return openDatabase(config, createLogger('silent'));
}

async function copyOfPristine(name: string): Promise<string> {
  const copy = path.join(workspace, name);
  await cp(pristine, copy, { recursive: true, preserveTimestamps: true });
  // A copy belongs to whoever copied it; the cluster must stay its server user's, as a restore keeps it.
  const owner = await stat(path.join(pristine, 'postgres'));
  await execFileAsync('chown', ['-R', `${owner.uid}:${owner.gid}`, path.join(copy, 'postgres')]);
  return copy;
}

/** `portcullis serve` on the folder, to its exit (a refusal exits at once). */
function serveOn(dataDir: string) {
  return runScript(
    'src/cli.ts',
    ['serve'],
    gatewayEnv({ DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' }),
    60_000,
  );
}

async function expectRefused(dataDir: string, problem: RegExp) {
  const error: Error = await open(dataDir).then(
    async (database) => {
      await database.close();
      throw new Error(`${dataDir} was opened`);
    },
    (refusal: Error) => refusal,
  );
  expect(error.message).toContain(`DATA_DIR ${dataDir} `);
  expect(error.message).toMatch(problem);
}

beforeAll(async () => {
  workspace = await mkdtemp(path.join(tmpdir(), 'portcullis-data-dirs-'));
  // Under root the server runs as the OS user postgres, which must be able to enter it.
  await chmod(workspace, 0o755);
  pristine = path.join(workspace, 'pristine');
  const database = await open(pristine);
  await database.dataSource.query(`CREATE TABLE canary (note text)`);
  await database.dataSource.query(`INSERT INTO canary VALUES ('kept')`);
  // The signing keys a first start seals with DATA_DIR/secret.key.
  const secretKey = (await readFile(path.join(pristine, 'secret.key'), 'utf8')).trim();
  await new SigningKeyStore(database.dataSource, secretKey).initialize();
  await database.close();
});

afterAll(async () => {
  await rm(workspace, { recursive: true, force: true });
});

describe('a damaged DATA_DIR', () => {
  it.each([['postgres/PG_VERSION'], ['postgres/global/pg_control'], ['postgres.password'], ['secret.key']])(
    'that lost %s is refused, naming the file',
    async (lost) => {
      const dataDir = await copyOfPristine(`lost-${lost.replace(/\W/g, '-')}`);
      await rm(path.join(dataDir, lost));
      await expectRefused(dataDir, new RegExp(`is damaged: ${lost.replace(/\./g, '\\.')} is missing`));
    },
  );

  it('that lost its marker is refused as not a Portcullis folder', async () => {
    const dataDir = await copyOfPristine('lost-marker');
    await rm(path.join(dataDir, 'portcullis.json'));
    await expectRefused(dataDir, /is not a Portcullis data folder/);
  });

  it('whose database files are corrupt is refused with the server log', async () => {
    const dataDir = await copyOfPristine('corrupt-control');
    await writeFile(path.join(dataDir, 'postgres', 'global', 'pg_control'), Buffer.alloc(8192, 7));
    await expectRefused(dataDir, /could not start its PostgreSQL server[\s\S]*pg_control/i);
  });

  it('that was emptied of its cluster folder is refused', async () => {
    const dataDir = await copyOfPristine('no-cluster');
    await rm(path.join(dataDir, 'postgres'), { recursive: true });
    await expectRefused(dataDir, /is damaged: postgres\/PG_VERSION is missing/);
  });

  it('of another PostgreSQL version is refused', async () => {
    const dataDir = await copyOfPristine('other-version');
    await writeFile(path.join(dataDir, 'postgres', 'PG_VERSION'), '17\n');
    await expectRefused(dataDir, /holds PostgreSQL 17 data, and this Portcullis runs PostgreSQL 18/);
  });

  it('created with SECRET_KEY is refused without it', async () => {
    const dataDir = path.join(workspace, 'with-secret-key');
    const database = await open(dataDir, { SECRET_KEY: 'k'.repeat(40) });
    await database.close();
    await expectRefused(dataDir, /was created with SECRET_KEY set/);
  });
});

describe('a foreign DATA_DIR', () => {
  it('holding other files is refused', async () => {
    const dataDir = path.join(workspace, 'foreign');
    await mkdir(dataDir);
    await writeFile(path.join(dataDir, 'notes.txt'), 'not ours');
    await expectRefused(dataDir, /is not a Portcullis data folder/);
    expect(await readFile(path.join(dataDir, 'notes.txt'), 'utf8')).toBe('not ours');
  });

  it('of an earlier Portcullis on PGlite is refused with what to do', async () => {
    const dataDir = path.join(workspace, 'pglite');
    await mkdir(path.join(dataDir, 'pgdata'), { recursive: true });
    await writeFile(path.join(dataDir, 'pgdata', 'PG_VERSION'), '17\n');
    await writeFile(path.join(dataDir, 'secret.key'), 'x'.repeat(43));
    await expectRefused(dataDir, /earlier Portcullis \(PGlite\)/);
  });
});

describe('a DATA_DIR the server cannot reach', () => {
  const runsAsRoot = process.getuid?.() === 0;
  (runsAsRoot ? it : it.skip)('is refused, naming the folder it cannot enter', async () => {
    const closed = path.join(workspace, 'closed');
    await mkdir(closed, { mode: 0o700 });
    const dataDir = path.join(closed, 'data');
    await expectRefused(dataDir, new RegExp(`is inside ${closed}, which the OS user .* cannot enter`));
  });
});

describe('a marker that says the first start did not finish', () => {
  it('over a folder that holds a cluster is refused, never initialised over', async () => {
    const dataDir = await copyOfPristine('marker-initialising');
    await writeFile(path.join(dataDir, 'portcullis.json'), JSON.stringify({ format: 1, state: 'initialising' }));
    await expectRefused(
      dataDir,
      /is damaged: portcullis\.json says its first start did not finish, but it holds a cluster/,
    );
    const database = await open(dataDir).catch(() => null);
    expect(database).toBeNull();
    // The data is still there for whoever restores the marker.
    await writeFile(path.join(dataDir, 'portcullis.json'), await readFile(path.join(pristine, 'portcullis.json')));
    const restored = await open(dataDir);
    try {
      expect(await restored.dataSource.query('SELECT note FROM canary')).toEqual([{ note: 'kept' }]);
    } finally {
      await restored.close();
    }
  });
});

describe('a first start that was interrupted', () => {
  it('is redone from the start', async () => {
    const dataDir = path.join(workspace, 'interrupted');
    await mkdir(path.join(dataDir, 'postgres.partial'), { recursive: true });
    await writeFile(path.join(dataDir, 'postgres.partial', 'half-written'), '');
    await writeFile(path.join(dataDir, 'portcullis.json'), JSON.stringify({ format: 1, state: 'initialising' }));
    const database = await open(dataDir);
    await database.close();
    expect(JSON.parse(await readFile(path.join(dataDir, 'portcullis.json'), 'utf8'))).toMatchObject({ state: 'ready' });
  });
});

describe('the complete folder', () => {
  it('still opens with its data after all that', async () => {
    const database = await open(pristine);
    try {
      expect(await database.dataSource.query('SELECT note FROM canary')).toEqual([{ note: 'kept' }]);
    } finally {
      await database.close();
    }
  });

  it('opens when a postmaster.pid left by a dead machine names a live process that is not its server', async () => {
    const dataDir = await copyOfPristine('stale-postmaster');
    // As after a container restart: the recorded pid now belongs to something else (this jest worker).
    const record = [process.pid, path.join(dataDir, 'postgres'), 1, 5432, '', '127.0.0.1', '0 0', 'ready'];
    await writeFile(path.join(dataDir, 'postgres', 'postmaster.pid'), `${record.join('\n')}\n`);
    const started = Date.now();
    const database = await open(dataDir);
    try {
      expect(await database.dataSource.query('SELECT note FROM canary')).toEqual([{ note: 'kept' }]);
      expect(Date.now() - started).toBeLessThan(20_000);
    } finally {
      await database.close();
    }
  });

  it('whose secret.key was replaced is refused by `portcullis serve` with what is wrong', async () => {
    const dataDir = await copyOfPristine('other-secret-key');
    await writeFile(path.join(dataDir, 'secret.key'), 'another-key-that-sealed-nothing-here-0123456789\n');
    const run = await serveOn(dataDir);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('the stored signing keys cannot be decrypted');
  });

  it('refused by `portcullis serve` exits 1 without printing a new owner', async () => {
    const dataDir = await copyOfPristine('serve-damaged');
    await rm(path.join(dataDir, 'postgres', 'PG_VERSION'));
    const run = await serveOn(dataDir);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`DATA_DIR ${dataDir} is damaged: postgres/PG_VERSION is missing`);
    expect(run.stdout).not.toContain('password:');
  });
});
