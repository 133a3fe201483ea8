import { createHash, randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { canonicalJson } from '../../src/core/audit/audit-hash';
import { verifyAuditChain } from '../../src/core/audit/verify-chain';
import { createOrgAs, person, roleId, type Person } from '../support/fixtures';
import { errorCode } from '../support/graphql-client';
import { REPO_ROOT } from '../support/spawn-gateway';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

/**
 * docs/audit-recompute.mjs, the example the README gives, run as a user would run it on a real
 * export: every hash it recomputes must match what the gateway stored, and an edited file must not.
 */

const SCRIPT = path.join(REPO_ROOT, 'docs', 'audit-recompute.mjs');

let server: TestGateway;
let superUser: string;
let owner: Person;
let orgId: string;
let otherOrgId: string;
let workDir: string;

type Run = { code: number | null; stdout: string; stderr: string };

/** `node docs/audit-recompute.mjs [file]`, fed `stdin` when given (as `curl … |` would). */
function recompute(args: string[], stdin?: Readable): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SCRIPT, ...args], { cwd: REPO_ROOT, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    if (stdin) stdin.pipe(child.stdin);
    else child.stdin.end();
  });
}

async function exportResponse(token: string, query: Record<string, string>): Promise<Response> {
  const response = await fetch(`${server.url}/audit/export?${new URLSearchParams({ format: 'ndjson', ...query })}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(response.status).toBe(200);
  return response;
}

async function exportToFile(token: string, query: Record<string, string>, name: string): Promise<string> {
  const file = path.join(workDir, name);
  await writeFile(file, await (await exportResponse(token, query)).text());
  return file;
}

const lines = async (file: string) => (await readFile(file, 'utf8')).trimEnd().split('\n');

async function graphql(query: string, variables: Record<string, unknown>, token: string, headers = {}) {
  const response = await server.graphql(query, variables, { token, headers });
  expect(response.errors).toBeUndefined();
  return response.data;
}

async function createRole(token: string, org: string, name: string, headers = {}) {
  await graphql(
    'mutation ($input: CreateRoleInput!) { createRole(input: $input) { id } }',
    { input: { orgId: org, name, permissions: ['org:read', 'members:read'] } },
    token,
    headers,
  );
}

beforeAll(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), 'audit-recompute-'));
  server = await startTestGateway();
  superUser = (await server.login()).accessToken;
  owner = await person(server, 'recompute-owner');
  orgId = await createOrgAs(server, owner.token, 'Récompute Org');
  const other = await person(server, 'recompute-other');
  otherOrgId = await createOrgAs(server, other.token, 'Other Org');

  // Unicode (accents, an astral emoji), quotes, backslashes and control-like text in `changes`
  // and in the user agent; numbers and nulls in `changes`; an API key as the actor.
  await createRole(owner.token, orgId, 'Rôle "cité" \\ 😀\u2028ü', { 'user-agent': 'agent "quoted" \\ back' });
  await createRole(other.token, otherOrgId, 'Ελληνικά ✓');
  await graphql(
    'mutation ($orgId: ID!) { setAuditRetention(orgId: $orgId, days: 400) { id } }',
    { orgId },
    owner.token,
  );
  await graphql(
    'mutation ($id: ID!) { updateUser(id: $id, input: { firstName: "Zoë\\u00a0\\u2028Ø", lastName: null }) { id } }',
    { id: owner.id },
    owner.token,
  );
  const account = await graphql(
    'mutation ($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) { id } }',
    { input: { orgId, name: 'Robot ☃', roleId: await roleId(server, orgId, 'admin') } },
    owner.token,
  );
  const key = await graphql(
    'mutation ($input: CreateKeyInput!) { createKey(input: $input) { token } }',
    {
      input: {
        ownerId: account.createServiceAccount.id,
        name: 'robot key',
        scopes: ['roles:read', 'roles:write', 'org:read', 'members:read'],
      },
    },
    owner.token,
  );
  await createRole(key.createKey.token, orgId, 'Made by a key');
  // A failed sign-in: an account-level record.
  const failed = await server.graphql(
    'mutation { login(email: "nobody@example.com", password: "nope") { accessToken } }',
  );
  expect(errorCode(failed)).toBe('UNAUTHENTICATED');
  await appendLegacyRecord(otherOrgId);
});

/**
 * A record as the gateway wrote them before event ids and subjects existed: fourteen hashed fields,
 * the two new columns null. It must still verify, in the gateway and in the script.
 */
async function appendLegacyRecord(chainOrgId: string) {
  const [last] = await server.sql('SELECT hash FROM audit_logs WHERE org_id = $1 ORDER BY seq DESC LIMIT 1', [
    chainOrgId,
  ]);
  const record = {
    id: randomUUID(),
    orgId: chainOrgId,
    actorId: null,
    actorKind: 'SYSTEM',
    apiKeyId: null,
    action: 'test.legacy',
    targetType: null,
    targetId: null,
    ipAddress: null,
    userAgent: null,
    requestId: null,
    changes: null,
    createdAt: new Date().toISOString(),
    prevHash: last.hash,
  };
  const hash = createHash('sha256').update(canonicalJson(record), 'utf8').digest('hex');
  await server.sql(
    `INSERT INTO audit_logs (id, org_id, actor_kind, action, created_at, prev_hash, hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [record.id, record.orgId, record.actorKind, record.action, record.createdAt, record.prevHash, hash],
  );
}

afterAll(async () => {
  await server.close();
  await rm(workDir, { recursive: true, force: true });
});

describe('docs/audit-recompute.mjs on a real export', () => {
  it('recomputes every hash and every link of every chain in a super user’s full export', async () => {
    const file = await exportToFile(superUser, {}, 'all.ndjson');
    const records = (await lines(file)).map((line) => JSON.parse(line));
    const [{ count }] = await server.sql('SELECT count(*)::int AS count FROM audit_logs');
    expect(records).toHaveLength(count);
    // What the export has to exercise.
    const orgs = new Set(records.map((record) => record.orgId));
    expect(orgs.has(null) && orgs.has(orgId) && orgs.has(otherOrgId) && orgs.size >= 4).toBe(true);
    expect(records.some((record) => record.apiKeyId !== null && record.actorKind === 'SERVICE_ACCOUNT')).toBe(true);
    expect(records.some((record) => record.changes === null)).toBe(true);
    expect(records.some((record) => JSON.stringify(record.changes).includes('😀'))).toBe(true);
    expect(records.some((record) => JSON.stringify(record.changes).includes('\u2028'))).toBe(true);
    expect(records.some((record) => record.userAgent === 'agent "quoted" \\ back')).toBe(true);
    expect(records.some((record) => /:400[,}]/.test(JSON.stringify(record.changes)))).toBe(true);
    // Both shapes: an account event's copies (event id and subject), and a record from before them.
    expect(records.some((record) => record.eventId !== null && record.subjectUserId !== null)).toBe(true);
    expect(records.some((record) => record.eventId === null && record.action === 'test.legacy')).toBe(true);
    for (const chain of [otherOrgId, orgId, null]) {
      const verified = await verifyAuditChain(
        server.gateway.database.dataSource,
        chain,
        server.gateway.services.signingKeys,
      );
      expect(verified.valid).toBe(true);
    }

    const run = await recompute([file]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const output = run.stdout.split('\n');
    expect(output[0]).toBe(`${count} records: ${count} hashes match, 0 do not`);
    const links = count - orgs.size;
    expect(output[1]).toBe(`${links} links: ${links} follow the record before them, 0 do not`);
    expect(output).toContain(
      `account-level chain: ${records.filter((record) => record.orgId === null).length} records, starts at the first record of the chain`,
    );
    expect(output).toContain(
      `org ${orgId}: ${records.filter((record) => record.orgId === orgId).length} records, starts at the first record of the chain`,
    );
  });

  it('reads an export piped from the HTTP response, and one that begins after a since filter', async () => {
    const orgRecords = (await lines(await exportToFile(owner.token, { orgId }, 'org.ndjson'))).map((line) =>
      JSON.parse(line),
    );
    const since = orgRecords[2].createdAt;
    const response = await exportResponse(owner.token, { orgId, since });
    const run = await recompute([], Readable.fromWeb(response.body as never));
    const expected = orgRecords.filter((record) => record.createdAt >= since).length;
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`${expected} records: ${expected} hashes match, 0 do not`);
    expect(run.stdout).toContain(
      `org ${orgId}: ${expected} records, starts after a record not in this file (a since filter, or pruned by retention)`,
    );
  });

  it('reports an altered field, an altered hash and a removed line by line and id', async () => {
    const file = await exportToFile(superUser, {}, 'all.ndjson');
    const original = await lines(file);
    // A record in the middle of the org's chain: the unicode role, created after the org itself.
    const target = original.findIndex((line) => JSON.parse(line).orgId === orgId && line.includes('😀'));
    const record = JSON.parse(original[target]);
    const tampered = path.join(workDir, 'tampered.ndjson');
    const withLine = async (index: number, replacement: string | null) => {
      const edited = [...original];
      if (replacement === null) edited.splice(index, 1);
      else edited[index] = replacement;
      await writeFile(tampered, `${edited.join('\n')}\n`);
      return recompute([tampered]);
    };

    const altered = await withLine(target, JSON.stringify({ ...record, action: `${record.action}x` }));
    expect(altered.code).toBe(1);
    expect(altered.stdout).toContain(`${original.length} records: ${original.length - 1} hashes match, 1 do not`);
    expect(altered.stdout).toContain(
      `line ${target + 1} (seq ${record.seq}, id ${record.id}): the hash does not match its content: the record was altered`,
    );

    // A JSON-equal line (keys reordered, escapes spelled differently) still matches: the hash covers meaning.
    const reordered = Object.fromEntries(Object.entries(record).reverse());
    const respelled = JSON.stringify(reordered).replace(
      /[^\x20-\x7e]/g,
      (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
    expect((await withLine(target, respelled)).code).toBe(0);

    const rehashed = await withLine(target, JSON.stringify({ ...record, hash: 'f'.repeat(64) }));
    expect(rehashed.code).toBe(1);
    expect(rehashed.stdout).toMatch(/hashes match, 1 do not/);
    expect(rehashed.stdout).toMatch(/links: \d+ follow the record before them, 1 do not/);

    const nextInChain = original.findIndex((line, index) => index > target && JSON.parse(line).orgId === orgId);
    const removed = await withLine(target, null);
    expect(removed.code).toBe(1);
    expect(removed.stdout).toContain(
      `line ${nextInChain} (seq ${JSON.parse(original[nextInChain]).seq}, id ${JSON.parse(original[nextInChain]).id}): prevHash is not the hash of the record before it in the org ${orgId}`,
    );
  });

  it('follows the recipe the README states: its field list is what an exported line holds, seq, chainSeq and hash aside', async () => {
    const readme = await readFile(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const recipe = /1\. Parse one line of the export[\s\S]*?\n2\./.exec(readme)?.[0] ?? '';
    const named = [...recipe.slice(recipe.indexOf('left out):')).matchAll(/`(\w+)`/g)].map(([, name]) => name);
    const [line] = await lines(await exportToFile(owner.token, { orgId }, 'recipe.ndjson'));
    const { seq: _seq, chainSeq: _chainSeq, hash: _hash, ...hashed } = JSON.parse(line);
    expect(named.sort()).toEqual(Object.keys(hashed).sort());
    expect(recipe).toContain('`seq`, `chainSeq` and `hash`');
    expect(readme).toContain('| node docs/audit-recompute.mjs');
  });

  it('counts a record not yet linked into its chain apart, and checks the others', async () => {
    const file = await exportToFile(owner.token, { orgId }, 'pending.ndjson');
    const linked = await lines(file);
    // As the export writes a record that committed after the chainer's last batch: last, unlinked.
    const pending = { ...JSON.parse(linked[linked.length - 1]), id: randomUUID(), chainSeq: null, prevHash: null };
    await writeFile(file, `${[...linked, JSON.stringify({ ...pending, hash: null })].join('\n')}\n`);
    const run = await recompute([file]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`${linked.length} records: ${linked.length} hashes match, 0 do not`);
    expect(run.stdout).toContain('1 records not yet chained');
  });

  it('refuses input that is not an NDJSON export', async () => {
    await writeFile(path.join(workDir, 'export.csv'), 'id,seq,orgId\r\n1,2,3\r\n');
    const run = await recompute([path.join(workDir, 'export.csv')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/line 1: not JSON/);
  });
});
