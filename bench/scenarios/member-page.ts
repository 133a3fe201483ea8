/**
 * The member page of issue 13: 100 memberships of the 1,000-member org with each user's email and
 * role key, cycling through all 10 pages by cursor, as the org's owner with an access token.
 */
import type { Server } from '../lib/environment';
import { graphql, graphqlBody, load, send, type Run } from '../lib/load';
import { runSeconds, statementsPerRequest, type BenchContext, type Scenario } from '../lib/context';
import { figures, median, row, spread, type Row } from '../lib/report';

const PAGE_SIZE = 100;
const PAGES = 10;

const MEMBER_PAGE = `query ($org: ID!, $after: String) {
  org(id: $org) { members(first: ${PAGE_SIZE}, after: $after) { edges { cursor node { user { email } role { key } } } pageInfo { endCursor } } }
}`;

// PostGraphile's own names for the same join (foreign keys memberships.user_id / role_id); it
// cannot order by a joined column without a plugin, so it pages in primary-key order.
const POSTGRAPHILE_PAGE = `query ($org: UUID!, $after: Cursor) {
  orgById(id: $org) { membershipsByOrgId(first: ${PAGE_SIZE}, after: $after, orderBy: PRIMARY_KEY_ASC) {
    edges { cursor node { userByUserId { email } roleByRoleId { key } } } pageInfo { endCursor } } }
}`;

type Page = { emails: string[]; endCursor: string | null };

function pageOf(server: Server, data: any): Page {
  if (server.name === 'postgraphile') {
    const connection = data.orgById.membershipsByOrgId;
    return {
      emails: connection.edges.map((edge: any) => edge.node.userByUserId.email),
      endCursor: connection.pageInfo.endCursor,
    };
  }
  const connection = data.org.members;
  return {
    emails: connection.edges.map((edge: any) => edge.node.user.email),
    endCursor: connection.pageInfo.endCursor,
  };
}

/** The bodies of the 10 pages on one server: its own cursors, collected by walking the list once. */
export async function pageBodies(context: BenchContext, server: Server): Promise<string[]> {
  const query = server.name === 'postgraphile' ? POSTGRAPHILE_PAGE : MEMBER_PAGE;
  const token = server.name === 'postgraphile' ? undefined : context.seed.ownerToken;
  const bodies: string[] = [];
  const seen = new Set<string>();
  let after: string | null = null;
  for (let i = 0; i < PAGES; i++) {
    const variables: Record<string, unknown> = { org: context.seed.orgId, after };
    bodies.push(graphqlBody({ query, variables }));
    const page = pageOf(server, await graphql(server.url, { query, variables }, token));
    if (page.emails.length !== PAGE_SIZE)
      throw new Error(`${server.name}: page ${i + 1} has ${page.emails.length} members`);
    for (const email of page.emails) seen.add(email);
    after = page.endCursor;
  }
  if (seen.size !== PAGE_SIZE * PAGES)
    throw new Error(`${server.name}: the 10 pages hold ${seen.size} distinct members`);
  return bodies;
}

export function pageLoad(
  context: BenchContext,
  server: Server,
  bodies: string[],
  connections: number,
  durationSeconds = context.options.durationSeconds,
): Promise<Run> {
  const headers: Record<string, string> =
    server.name === 'postgraphile' ? {} : { authorization: `Bearer ${context.seed.ownerToken}` };
  return load({
    url: server.url,
    connections,
    durationSeconds,
    requests: bodies.map((body) => ({ path: '/graphql', body, headers })),
  });
}

async function pageStatements(context: BenchContext, server: Server, bodies: string[]): Promise<number> {
  const headers: Record<string, string> =
    server.name === 'postgraphile' ? {} : { authorization: `Bearer ${context.seed.ownerToken}` };
  const counted = await statementsPerRequest(context, server, async (agent, i) => {
    const answer = await send(agent, server.url, { path: '/graphql', body: bodies[i % bodies.length], headers });
    return answer.status === 200 && !answer.body.includes('"errors"');
  });
  return counted.perRequest;
}

export const memberPage: Scenario = {
  name: 'member-page',
  describe: 'org.members(first: 100, after), 10 pages cycled, 10 connections: gateway vs baseline vs PostGraphile',
  async run(context) {
    const servers = [context.gateway, context.baseline, context.postgraphile];
    const bodies = new Map<Server, string[]>();
    for (const server of servers) bodies.set(server, await pageBodies(context, server));
    const [gatewayFirst, baselineFirst] = await Promise.all(
      [context.gateway, context.baseline].map(async (server) =>
        pageOf(
          server,
          await graphql(
            server.url,
            { query: MEMBER_PAGE, variables: { org: context.seed.orgId, after: null } },
            context.seed.ownerToken,
          ),
        ),
      ),
    );
    if (gatewayFirst.emails.join() !== baselineFirst.emails.join())
      throw new Error('the baseline pages differently from the gateway');

    const runs = new Map<Server, Run[]>(servers.map((server) => [server, []]));
    for (let round = -1; round < context.options.rounds; round++) {
      for (const server of servers) {
        const run = await pageLoad(context, server, bodies.get(server) as string[], 10, runSeconds(context, round));
        if (round < 0) continue;
        runs.get(server)?.push(run);
        console.log(
          `  member-page round ${round + 1} ${server.name}: ${run.rps.toFixed(0)} req/s, p50 ${run.p50} ms, p99 ${run.p99} ms`,
        );
      }
    }
    const statements = new Map<Server, number>();
    for (const server of servers)
      statements.set(server, await pageStatements(context, server, bodies.get(server) as string[]));

    const of = (server: Server) => runs.get(server) as Run[];
    const ratio = (peer: Server) => of(context.gateway).map((run, i) => run.rps / of(peer)[i].rps);
    const vsBaseline = ratio(context.baseline);
    const vsPostGraphile = ratio(context.postgraphile);
    const rows: Row[] = [];
    for (const server of servers) {
      rows.push(
        row('member-page', server.name, figures(of(server))),
        row(
          'member-page',
          `${server.name} statements/request`,
          (statements.get(server) as number).toFixed(2),
          server === context.gateway ? '≤ 4' : '',
          server === context.gateway ? (statements.get(server) as number) <= 4 : null,
        ),
      );
    }
    rows.push(
      row('member-page', 'gateway ÷ baseline', `${spread(vsBaseline)}×`, '≥ 0.5×', median(vsBaseline) >= 0.5),
      row(
        'member-page',
        'gateway ÷ PostGraphile',
        `${spread(vsPostGraphile)}×`,
        '≥ 0.5×',
        median(vsPostGraphile) >= 0.5,
      ),
    );
    return rows;
  },
};

export const memberPageConcurrency: Scenario = {
  name: 'member-page-concurrency',
  describe: 'the member page at 1, 10 and 50 connections (gateway), and the baseline at 50',
  async run(context) {
    const gatewayBodies = await pageBodies(context, context.gateway);
    const baselineBodies = await pageBodies(context, context.baseline);
    const levels = [1, 10, 50];
    const byLevel = new Map<number, Run[]>(levels.map((level) => [level, []]));
    const baseline50: Run[] = [];
    await pageLoad(context, context.gateway, gatewayBodies, 10, runSeconds(context, -1));
    await pageLoad(context, context.baseline, baselineBodies, 10, runSeconds(context, -1));
    for (let round = 0; round < context.options.rounds; round++) {
      for (const level of levels) {
        const run = await pageLoad(context, context.gateway, gatewayBodies, level);
        byLevel.get(level)?.push(run);
        console.log(
          `  concurrency round ${round + 1} gateway@${level}: ${run.rps.toFixed(0)} req/s, p50 ${run.p50} ms, p99 ${run.p99} ms`,
        );
      }
      const run = await pageLoad(context, context.baseline, baselineBodies, 50);
      baseline50.push(run);
      console.log(`  concurrency round ${round + 1} baseline@50: ${run.rps.toFixed(0)} req/s, p99 ${run.p99} ms`);
    }
    const at = (level: number) => byLevel.get(level) as Run[];
    const scaling = at(50).map((run, i) => run.rps / at(10)[i].rps);
    const tail = at(50).map((run) => run.p99 / run.p50);
    const rows: Row[] = levels.map((level) => row('member-page-concurrency', `gateway @${level}`, figures(at(level))));
    rows.push(
      row('member-page-concurrency', 'baseline @50', figures(baseline50)),
      row('member-page-concurrency', 'req/s @50 ÷ @10', `${spread(scaling)}×`, '≥ 0.9×', median(scaling) >= 0.9),
      row('member-page-concurrency', 'p99 @50 ÷ p50 @50', `${spread(tail)}×`, '≤ 3×', median(tail) <= 3),
    );
    return rows;
  },
};
