/**
 * `auditLogs` over real HTTP against 1,000,000 audit records in 100 orgs: median and p95 of each
 * listing's first page, then EXPLAIN (ANALYZE, BUFFERS) of the SQL each listing ran, and one summary
 * line per listing (`audit <listing>: p50 X ms, p95 Y ms, plan: <its first index scan>`) for
 * `npm run bench`, which runs this file as a child process.
 * Needs the PostgreSQL that tests use (TEST_DATABASE_URL); creates and drops its own database.
 *
 *   npm run bench:audit [-- --records 1000000]
 */
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { startGateway } from '../src/app';
import { loadConfig } from '../src/core/config/config';
import { migrations } from '../src/core/db/migrations';
import { createLogger } from '../src/core/logger';
import { createTestDatabase } from '../test/support/database';
import { graphqlRequest } from '../test/support/graphql-client';

/** `--records N`: how many records to load (default 1,000,000, loaded in batches of 250,000). */
function recordsArgument(): number {
  const index = process.argv.indexOf('--records');
  const records = index < 0 ? 1_000_000 : Number(process.argv[index + 1]);
  if (!Number.isSafeInteger(records) || records < 10_000) throw new Error('--records: a whole number ≥ 10000');
  return records;
}

const ROWS = recordsArgument();
const BATCHES = Math.ceil(ROWS / 250_000);
const ORGS = 100;
const ACTORS_PER_ORG = 10;
const TARGETS_PER_ORG = 200;
const SUBJECTS_PER_ORG = 50;
const DAYS = 90;
const PAGE_SIZE = 50;
const DEEP_PAGES = 10;
const WARMUP = 3;
const REPEATS = 20;
const OWNER_EMAIL = 'bench-owner@example.com';
const OWNER_PASSWORD = 'correct horse battery staple';

const ACTIONS = [
  'user.invited',
  'user.updated',
  'user.deactivated',
  'user.reactivated',
  'user.locked',
  'user.unlocked',
  'user.password_changed',
  'member.added',
  'member.removed',
  'member.role_changed',
  'role.created',
  'role.updated',
  'role.deleted',
  'team.created',
  'team.updated',
  'team.member_added',
  'group.created',
  'group.member_added',
  'api_key.created',
  'api_key.revoked',
];
const TARGET_TYPES = ['User', 'Membership', 'Role', 'Team', 'ApiKey'];

const AUDIT_LOGS = `
  query ($orgId: ID, $first: Int, $after: String, $filter: AuditLogFilter) {
    auditLogs(orgId: $orgId, first: $first, after: $after, filter: $filter) {
      edges {
        cursor
        node {
          id
          action
          actorKind
          targetType
          targetId
          createdAt
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;

type Variables = { orgId?: string; filter?: Record<string, string> };
type Statement = { query: string; parameters: unknown[] };

/**
 * Each org has its own actors and targets, and `created_at` rises with `seq` over the last 90 days,
 * as records written by a live gateway do. Ids are md5-derived, so reruns produce the same data.
 */
async function seed(client: Client): Promise<void> {
  await client.query(`SELECT setseed(0.42)`);
  await client.query(
    `INSERT INTO orgs (id, slug, name)
     SELECT md5('org-' || o)::uuid, 'bench-org-' || o, 'Bench org ' || o FROM generate_series(0, $1 - 1) o`,
    [ORGS],
  );
  // Loading without the secondary indexes and rebuilding them from their own definitions is far
  // faster than a million index insertions; the schema ends up exactly as the migrations left it.
  const { rows: indexes } = await client.query(
    `SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'audit_logs' AND indexname <> 'audit_logs_pkey'`,
  );
  for (const { indexname } of indexes) await client.query(`DROP INDEX ${indexname}`);
  const perBatch = Math.ceil(ROWS / BATCHES);
  for (let batch = 0; batch < BATCHES; batch++) {
    await client.query(
      `INSERT INTO audit_logs (org_id, actor_id, actor_kind, action, target_type, target_id,
                               ip_address, user_agent, request_id, changes, created_at, prev_hash, hash, chain_seq,
                               subject_user_id, event_id)
       SELECT md5('org-' || r.org)::uuid,
              md5('actor-' || r.org || '-' || r.actor)::uuid,
              'HUMAN',
              ($4::text[])[1 + r.action],
              ($5::text[])[1 + r.action % cardinality($5::text[])],
              md5('target-' || r.org || '-' || r.target)::uuid::text,
              '10.0.' || r.org || '.' || r.actor,
              'bench',
              md5('request-' || r.g),
              jsonb_build_object('after', jsonb_build_object('n', r.g)),
              now() - make_interval(days => $6) + make_interval(secs => r.g * $6 * 86400.0 / $7),
              'bench',
              'bench',
              r.g,
              md5('subject-' || r.org || '-' || r.target % $10)::uuid,
              md5('event-' || r.g)::uuid
       FROM (
         SELECT g,
                floor(random() * $3)::int AS org,
                floor(random() * $8)::int AS actor,
                floor(random() * cardinality($4::text[]))::int AS action,
                floor(random() * $9)::int AS target
         FROM generate_series($1::int, $2::int) g
       ) r`,
      [
        batch * perBatch + 1,
        Math.min(ROWS, (batch + 1) * perBatch),
        ORGS,
        ACTIONS,
        TARGET_TYPES,
        DAYS,
        ROWS,
        ACTORS_PER_ORG,
        TARGETS_PER_ORG,
        SUBJECTS_PER_ORG,
      ],
    );
  }
  await client.query(`SET maintenance_work_mem = '256MB'`);
  for (const { indexdef } of indexes) await client.query(indexdef);
  await client.query('ANALYZE');
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function main(): Promise<void> {
  const database = await createTestDatabase();
  const client = new Client({ connectionString: database.url });
  try {
    const started = performance.now();
    const migrator = new DataSource({
      type: 'postgres',
      url: database.url,
      migrations,
      migrationsTableName: 'typeorm_migrations',
    });
    await migrator.initialize();
    await migrator.runMigrations({ transaction: 'each' });
    await migrator.destroy();

    await client.connect();
    await seed(client);
    console.log(
      `seeded ${ROWS} audit records in ${ORGS} orgs in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );

    // The users table is still empty, so the gateway bootstraps its owner, a super user.
    const gateway = await startGateway(
      loadConfig({
        NODE_ENV: 'test',
        HOST: '127.0.0.1',
        PORT: '0',
        DATABASE_URL: database.url,
        DATABASE_POOL_SIZE: '5',
        SECRET_KEY: 'bench-secret-key-that-is-long-enough-0123456789',
        BCRYPT_COST: '4',
        BOOTSTRAP_EMAIL: OWNER_EMAIL,
        BOOTSTRAP_PASSWORD: OWNER_PASSWORD,
        BOOTSTRAP_ORG: 'Bench',
      }),
      createLogger('silent'),
    );
    try {
      await benchmark(gateway.url, gateway.database.statements, client);
    } finally {
      await gateway.close();
    }
  } finally {
    await client.end();
    await database.drop();
  }
}

async function benchmark(
  url: string,
  statements: { logQuery(query?: string, parameters?: unknown[]): void },
  client: Client,
): Promise<void> {
  const login = await graphqlRequest(
    url,
    `mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }`,
    { email: OWNER_EMAIL, password: OWNER_PASSWORD },
  );
  const token: string | undefined = login.data?.login?.accessToken;
  if (!token) throw new Error(`login failed: ${JSON.stringify(login.errors)}`);

  // A record halfway back supplies the org, actor, action, target and time window to filter on.
  const [sample] = (
    await client.query(
      `SELECT org_id, actor_id, action, target_type, target_id, subject_user_id,
              created_at - interval '12 hours' AS since, created_at + interval '12 hours' AS until,
              created_at - interval '30 days' AS wide_since
       FROM audit_logs WHERE seq = $1`,
      [ROWS / 2],
    )
  ).rows;
  const orgId: string = sample.org_id;

  // The gateway's TypeORM logger hands over each statement; keep the latest audit_logs SELECT.
  let lastStatement: Statement | null = null;
  statements.logQuery = (query, parameters) => {
    if (query?.startsWith('SELECT') && query.includes('"audit_logs"')) {
      lastStatement = { query, parameters: parameters ?? [] };
    }
  };

  const page = async (variables: Variables, after: string | null = null): Promise<string | null> => {
    const response = await graphqlRequest(url, AUDIT_LOGS, { ...variables, first: PAGE_SIZE, after }, { token });
    const connection = response.data?.auditLogs;
    if (!connection?.edges.length) throw new Error(`empty or failed page: ${JSON.stringify(response.errors)}`);
    return connection.pageInfo.endCursor;
  };
  const deepPages = async (variables: Variables): Promise<void> => {
    let after: string | null = null;
    for (let i = 0; i < DEEP_PAGES; i++) after = await page(variables, after);
  };

  const scenarios: Array<{ name: string; run: () => Promise<unknown> }> = [
    { name: 'one org', run: () => page({ orgId }) },
    { name: 'one org + action', run: () => page({ orgId, filter: { action: sample.action } }) },
    { name: 'one org + actorId', run: () => page({ orgId, filter: { actorId: sample.actor_id } }) },
    {
      name: 'one org + targetType/targetId',
      run: () => page({ orgId, filter: { targetType: sample.target_type, targetId: sample.target_id } }),
    },
    {
      name: 'one org + since/until (1 day)',
      run: () => page({ orgId, filter: { since: sample.since.toISOString(), until: sample.until.toISOString() } }),
    },
    {
      name: 'one org + subjectUserId',
      run: () => page({ orgId, filter: { subjectUserId: sample.subject_user_id } }),
    },
    {
      name: 'one org + actorId + action',
      run: () => page({ orgId, filter: { actorId: sample.actor_id, action: sample.action } }),
    },
    {
      name: 'one org + since (30 days back)',
      run: () => page({ orgId, filter: { since: sample.wide_since.toISOString() } }),
    },
    {
      name: 'one org + until (halfway back)',
      run: () => page({ orgId, filter: { until: sample.until.toISOString() } }),
    },
    {
      name: 'one org + action + since/until',
      run: () =>
        page({
          orgId,
          filter: { action: sample.action, since: sample.since.toISOString(), until: sample.until.toISOString() },
        }),
    },
    { name: 'super user, all orgs', run: () => page({}) },
    { name: 'super user, all orgs + actorId', run: () => page({ filter: { actorId: sample.actor_id } }) },
    {
      name: 'super user, all orgs + since/until (1 day)',
      run: () => page({ filter: { since: sample.since.toISOString(), until: sample.until.toISOString() } }),
    },
    { name: 'super user, all orgs + action', run: () => page({ filter: { action: sample.action } }) },
    { name: `one org, ${DEEP_PAGES} pages by cursor`, run: () => deepPages({ orgId }) },
  ];

  const table: Array<Record<string, string | number>> = [];
  const summary: string[] = [];
  const plans: Array<{ name: string; plan: string[] }> = [];
  for (const scenario of scenarios) {
    for (let i = 0; i < WARMUP; i++) await scenario.run();
    const timings: number[] = [];
    const cpuBefore = process.cpuUsage();
    for (let i = 0; i < REPEATS; i++) {
      const started = performance.now();
      await scenario.run();
      timings.push(performance.now() - started);
    }
    // Gateway and client share this process: CPU per run far below its wall time means the run
    // mostly waited (for PostgreSQL, or for a core on a busy machine), not that the gateway worked.
    const cpu = process.cpuUsage(cpuBefore);
    const cpuMs = (cpu.user + cpu.system) / 1000 / REPEATS;
    timings.sort((a, b) => a - b);
    table.push({
      listing: scenario.name,
      'median ms': Number(percentile(timings, 50).toFixed(1)),
      'p95 ms': Number(percentile(timings, 95).toFixed(1)),
      'CPU ms/run': Number(cpuMs.toFixed(1)),
    });

    const statement = lastStatement as Statement | null;
    if (!statement) throw new Error(`no audit_logs statement captured for ${scenario.name}`);
    const explained = await client.query(`EXPLAIN (ANALYZE, BUFFERS) ${statement.query}`, statement.parameters);
    const plan: string[] = explained.rows.map((row) => row['QUERY PLAN']);
    // The same statement straight to PostgreSQL: what the indexes decide, without the gateway.
    const sqlTimings: number[] = [];
    for (let i = 0; i < REPEATS; i++) {
      const sqlStarted = performance.now();
      await client.query(statement.query, statement.parameters);
      sqlTimings.push(performance.now() - sqlStarted);
    }
    sqlTimings.sort((a, b) => a - b);
    plans.push({ name: scenario.name, plan });
    const access = plan.map((line) => /(Index Only Scan|Index Scan|Bitmap Index Scan|Seq Scan)[^(]*/.exec(line)?.[0]);
    summary.push(
      `audit ${scenario.name}: p50 ${percentile(timings, 50).toFixed(1)} ms, p95 ${percentile(timings, 95).toFixed(1)} ms ` +
        `(HTTP, ${cpuMs.toFixed(1)} ms CPU of gateway and client per run; its SQL alone: p50 ${percentile(sqlTimings, 50).toFixed(1)} ms, p95 ${percentile(sqlTimings, 95).toFixed(1)} ms), ` +
        `plan: ${access.find(Boolean)?.trim() ?? plan[0]}`,
    );
  }

  console.log(
    `\nauditLogs, first: ${PAGE_SIZE}, ${REPEATS} runs each over HTTP (the last row: all ${DEEP_PAGES} pages)`,
  );
  console.table(table);
  for (const { name, plan } of plans) {
    const seqScan = plan.some((line) => /Seq Scan on audit_logs/.test(line));
    console.log(`\n${name}${seqScan ? '  <-- SEQ SCAN on audit_logs' : ''}\n  ${plan.join('\n  ')}`);
  }
  console.log(`\n${summary.join('\n')}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
