import { linkCommittedRecords, lockChainer } from '../../src/core/audit/chainer';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parse } from 'csv-parse/sync';
import { restoreFormula } from '../../src/modules/user-import/formula-cells';
import { createOrgAs, person, roleId, type Person } from '../support/fixtures';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

let server: TestGateway;
let superUser: string;
let owner: Person;
let viewer: Person;
let outsider: Person;
let orgId: string;
let otherOrgId: string;

type Row = Record<string, unknown>;

/**
 * The columns as the export renders them: seq and chainSeq as text, createdAt as ISO UTC with
 * milliseconds; in chain order, once every committed record is linked (as the export does first).
 */
const STORED_ROWS = `
  SELECT id, seq::text AS "seq", org_id AS "orgId", actor_id AS "actorId", actor_kind AS "actorKind",
         api_key_id AS "apiKeyId", action, target_type AS "targetType", target_id AS "targetId",
         ip_address AS "ipAddress", user_agent AS "userAgent", request_id AS "requestId", changes,
         to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt",
         prev_hash AS "prevHash", hash, event_id AS "eventId", subject_user_id AS "subjectUserId",
         chain_seq::text AS "chainSeq"
    FROM audit_logs WHERE org_id = $1 ORDER BY audit_logs.chain_seq`;

async function storedRows(org: string): Promise<Row[]> {
  await linkCommittedRecords(server.gateway.database.dataSource);
  return server.sql(STORED_ROWS, [org]);
}

function exportAudit(token: string | null, query: Record<string, string>, signal?: AbortSignal): Promise<Response> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  return fetch(`${server.url}/audit/export?${new URLSearchParams(query)}`, { headers, signal });
}

async function exportNdjson(token: string, query: Record<string, string>): Promise<Row[]> {
  const response = await exportAudit(token, { format: 'ndjson', ...query });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('application/x-ndjson');
  const text = await response.text();
  return text === ''
    ? []
    : text
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line));
}

/** Back from CSV cells: empty is null, neutralised formulas restored, `changes` parsed. */
async function exportCsv(token: string, query: Record<string, string>): Promise<Row[]> {
  const response = await exportAudit(token, { format: 'csv', ...query });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
  const records: Array<Record<string, string>> = parse(await response.text(), { columns: true });
  return records.map((record) =>
    Object.fromEntries(
      Object.entries(record).map(([column, cell]) => {
        const value = cell === '' ? null : restoreFormula(cell);
        return [column, column === 'changes' && value !== null ? JSON.parse(value) : value];
      }),
    ),
  );
}

async function errorOf(response: Response): Promise<{ status: number; code: string; field?: string }> {
  const body = (await response.json()) as { errors: Array<{ extensions: { code: string; field?: string } }> };
  const { code, field } = body.errors[0].extensions;
  return { status: response.status, code, field };
}

async function createRole(token: string, org: string, name: string): Promise<void> {
  const response = await server.graphql(
    'mutation ($input: CreateRoleInput!) { createRole(input: $input) { id } }',
    { input: { orgId: org, name, permissions: ['org:read'] } },
    { token },
  );
  expect(response.errors).toBeUndefined();
}

async function apiKey(scopes: string[]): Promise<string> {
  const account = await server.graphql(
    'mutation ($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) { id } }',
    { input: { orgId, name: `exporter ${scopes.join(' ')}`, roleId: await roleId(server, orgId, 'admin') } },
    { token: owner.token },
  );
  const key = await server.graphql(
    'mutation ($input: CreateKeyInput!) { createKey(input: $input) { token } }',
    { input: { ownerId: account.data.createServiceAccount.id, name: 'export key', scopes } },
    { token: owner.token },
  );
  return key.data.createKey.token;
}

beforeAll(async () => {
  server = await startTestGateway();
  superUser = (await server.login()).accessToken;
  owner = await person(server, 'exporter');
  orgId = await createOrgAs(server, owner.token, 'Exported Org');
  viewer = await person(server, 'viewer', { orgId, role: 'viewer' });
  outsider = await person(server, 'outsider');
  otherOrgId = await createOrgAs(server, outsider.token, 'Unrelated Org');
  for (const name of ['Role A', 'Role B', 'Role C', 'Role D']) await createRole(owner.token, orgId, name);
  await createRole(outsider.token, otherOrgId, 'Elsewhere');
  // A cell a spreadsheet would run, and one holding a line break and quotes.
  await server.sql(
    `INSERT INTO audit_logs (org_id, actor_kind, action, user_agent, target_id, changes, hash, prev_hash)
     VALUES ($1, 'ANONYMOUS', 'test.formula', '=HYPERLINK("http://evil")', 'a,"b"' || chr(10) || 'c', '{"x": "=1+1"}', 'h', 'p')`,
    [orgId],
  );
});

afterAll(async () => {
  await server.close();
});

describe('GET /audit/export', () => {
  it('exports the org’s records as NDJSON in chain order, equal to the stored rows', async () => {
    const stored = await storedRows(orgId);
    expect(stored.length).toBeGreaterThanOrEqual(6);
    expect(await exportNdjson(owner.token, { orgId })).toEqual(stored);
  });

  it('exports the same records as RFC 4180 CSV with a header and neutralised formulas', async () => {
    const response = await exportAudit(owner.token, { orgId, format: 'csv' });
    const text = await response.text();
    expect(text.split('\r\n')[0]).toBe(
      'id,seq,orgId,actorId,actorKind,apiKeyId,action,targetType,targetId,ipAddress,userAgent,requestId,changes,createdAt,prevHash,hash,eventId,subjectUserId,chainSeq',
    );
    expect(text).toContain(`"'=HYPERLINK(""http://evil"")"`);
    expect(await exportCsv(owner.token, { orgId })).toEqual(await storedRows(orgId));
  });

  it('filters by since (inclusive) and until (exclusive)', async () => {
    const stored = await storedRows(orgId);
    const since = stored[1].createdAt as string;
    const until = stored[stored.length - 2].createdAt as string;
    const expected = stored.filter((row) => (row.createdAt as string) >= since && (row.createdAt as string) < until);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(stored.length);
    expect(await exportNdjson(owner.token, { orgId, since, until })).toEqual(expected);
    expect(await exportCsv(owner.token, { orgId, since, until })).toEqual(expected);
    expect(await exportNdjson(owner.token, { orgId, since: '2999-01-01' })).toEqual([]);
    expect(await exportCsv(owner.token, { orgId, since: '2999-01-01' })).toEqual([]);
  });

  it('accepts an API key holding audit:read, and refuses one scoped without it', async () => {
    expect(await exportNdjson(await apiKey(['audit:read']), { orgId })).toEqual(await storedRows(orgId));
    expect(await errorOf(await exportAudit(await apiKey(['org:read']), { orgId }))).toMatchObject({
      status: 403,
      code: 'FORBIDDEN',
    });
  });

  it('lets a super user export every org at once', async () => {
    const all = await exportNdjson(superUser, {});
    const orgs = new Set(all.map((row) => row.orgId));
    expect(orgs.has(orgId) && orgs.has(otherOrgId)).toBe(true);
  });

  it('refuses what auditLogs refuses', async () => {
    expect(await errorOf(await exportAudit(null, { orgId }))).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
    expect(await errorOf(await exportAudit('not-a-token', { orgId }))).toEqual({
      status: 401,
      code: 'UNAUTHENTICATED',
    });
    expect(await errorOf(await exportAudit(viewer.token, { orgId }))).toEqual({ status: 403, code: 'FORBIDDEN' });
    expect(await errorOf(await exportAudit(owner.token, { orgId: otherOrgId }))).toEqual({
      status: 404,
      code: 'NOT_FOUND',
    });
    expect(await errorOf(await exportAudit(owner.token, { orgId: 'nope' }))).toEqual({
      status: 404,
      code: 'NOT_FOUND',
    });
    expect(await errorOf(await exportAudit(owner.token, {}))).toEqual({
      status: 400,
      code: 'BAD_USER_INPUT',
      field: 'orgId',
    });
    for (const [query, field] of [
      [{ format: 'xml' }, 'format'],
      [{ since: 'yesterday' }, 'since'],
      [{ until: '2025-01-01T10:00:00' }, 'until'], // no zone: ambiguous
      [{ since: '2025-02-30T00:00:00Z' }, 'since'],
    ] as const) {
      expect(await errorOf(await exportAudit(owner.token, { orgId, ...query }))).toEqual({
        status: 400,
        code: 'BAD_USER_INPUT',
        field,
      });
    }
  });
});

describe('GET /audit/export over a large range', () => {
  const RECORDS = 200_000;
  let bulkOrgId: string;
  /** The org's records: the bulk ones and the org's own creation. */
  let bulkRecords: number;
  /** When each export batch was read from the database (ms since the epoch). */
  let batchReadsAt: number[];

  beforeAll(async () => {
    bulkOrgId = await createOrgAs(server, owner.token, 'Bulk Org');
    // Stored as linked records (fake hashes: the export does not check them), positions taken under
    // the chainer's lock so the gateway's chainer, linking the org's creation, cannot take the same.
    await server.gateway.database.dataSource.transaction(async (tx) => {
      await lockChainer(tx);
      await tx.query(
        `INSERT INTO audit_logs (org_id, actor_kind, action, target_type, target_id, changes, created_at, prev_hash, hash,
                               chain_seq)
       SELECT $1, 'SYSTEM', 'bulk.test', 'thing', n::text, jsonb_build_object('n', n, 'note', repeat('x', 100)),
              now() + n * interval '1 millisecond', md5(n::text) || md5(n::text), md5(n::text) || md5(n::text),
              (SELECT coalesce(max(chain_seq), 0) FROM audit_logs) + n
         FROM generate_series(1, ${RECORDS}) AS n`,
        [bulkOrgId],
      );
    });
    // Fresh statistics, as autovacuum would gather after a bulk load: planned on the empty org's
    // stale estimate, each batch would sort the whole org instead of reading the seq index.
    await server.sql('ANALYZE audit_logs');
    [{ count: bulkRecords }] = await server.sql('SELECT count(*)::int AS count FROM audit_logs WHERE org_id = $1', [
      bulkOrgId,
    ]);
    // Not a jest spy: it would keep every result, i.e. every row read, in `mock.results`.
    const dataSource = server.gateway.database.dataSource;
    const query = dataSource.query.bind(dataSource);
    dataSource.query = (sql: string, params?: unknown[]) => {
      if (sql.includes('FROM audit_logs') && sql.includes('seq >')) batchReadsAt.push(Date.now());
      return query(sql, params);
    };
  });

  beforeEach(() => {
    batchReadsAt = [];
  });

  it('streams 200,000 records in bounded memory, answering before the last rows are read', async () => {
    // heapUsed counts garbage V8 has not collected yet, which says little about what the export
    // holds; a full collection every tenth sample (one per second: each costs ~100 ms here) shows that.
    setFlagsFromString('--expose-gc');
    const collectGarbage = runInNewContext('gc') as () => void;
    collectGarbage();
    const baseline = process.memoryUsage().heapUsed;
    let peakUsed = baseline;
    let peakLive = baseline;
    let samples = 0;
    const sampler = setInterval(() => {
      samples += 1;
      peakUsed = Math.max(peakUsed, process.memoryUsage().heapUsed);
      if (samples % 10 !== 0) return;
      collectGarbage();
      peakLive = Math.max(peakLive, process.memoryUsage().heapUsed);
    }, 100);
    const started = Date.now();
    let firstByteAt = 0;
    let lines = 0;
    let bytes = 0;
    try {
      const response = await exportAudit(owner.token, { orgId: bulkOrgId });
      expect(response.status).toBe(200);
      const decoder = new TextDecoder();
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        firstByteAt ||= Date.now();
        bytes += chunk.byteLength;
        lines += decoder.decode(chunk, { stream: true }).split('\n').length - 1;
      }
    } finally {
      clearInterval(sampler);
    }
    const growthMb = (peakLive - baseline) / 2 ** 20;
    const outputMb = bytes / 2 ** 20;
    console.info(
      `export: ${lines} lines, ${outputMb.toFixed(1)} MB in ${Date.now() - started} ms; ` +
        `${batchReadsAt.length} batches; live heap growth ${growthMb.toFixed(1)} MB ` +
        `(heapUsed with garbage: ${((peakUsed - baseline) / 2 ** 20).toFixed(1)} MB)`,
    );
    expect(lines).toBe(bulkRecords);
    // One read per thousand linked records, the last one short, then one for those not linked yet.
    expect(batchReadsAt).toHaveLength(Math.floor(bulkRecords / 1000) + 2);
    expect(firstByteAt).toBeLessThan(batchReadsAt[batchReadsAt.length - 1]);
    // Buffering the output would hold all of it (> 80 MB, twice that as UTF-16 strings). Streaming
    // holds one batch of rows and its text (~2 MB) on each side of the socket, plus stream buffers.
    expect(outputMb).toBeGreaterThan(80);
    expect(growthMb).toBeLessThan(32);
  }, 120_000);

  it('stops reading when the client hangs up', async () => {
    const abort = new AbortController();
    const response = await exportAudit(owner.token, { orgId: bulkOrgId }, abort.signal);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    abort.abort();
    // Let a batch already in flight finish, then no further one may start.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const readsAfterHangUp = batchReadsAt.length;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(batchReadsAt.length).toBe(readsAfterHangUp);
    expect(readsAfterHangUp).toBeLessThan(RECORDS / 1000);
  });
});
