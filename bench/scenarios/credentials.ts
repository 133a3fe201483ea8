/** `me` against the baseline, and the same request with an API key against an access token. */
import type { Server } from '../lib/environment';
import { graphqlBody, load, send, type Run } from '../lib/load';
import { runSeconds, statementsPerRequest, type BenchContext, type Scenario } from '../lib/context';
import { figures, median, row, spread } from '../lib/report';

const ME = graphqlBody({ query: '{ me { id email } }' });

async function rounds(
  context: BenchContext,
  label: string,
  runs: Array<{ name: string; server: Server; body: string; token: string }>,
): Promise<Run[][]> {
  const results: Run[][] = runs.map(() => []);
  for (let round = -1; round < context.options.rounds; round++) {
    // Odd rounds run the pair in reverse: the first run after a switch tends to be the slowest.
    const order = round % 2 === 0 ? runs.map((_, i) => i) : runs.map((_, i) => runs.length - 1 - i);
    for (const i of order) {
      const { name, server, body, token } = runs[i];
      const run = await load({
        url: server.url,
        connections: 10,
        durationSeconds: runSeconds(context, round),
        requests: [{ path: '/graphql', body, headers: { authorization: `Bearer ${token}` } }],
      });
      if (round < 0) continue;
      results[i].push(run);
      console.log(
        `  ${label} round ${round + 1} ${name}: ${run.rps.toFixed(0)} req/s, p50 ${run.p50} ms, p99 ${run.p99} ms`,
      );
    }
  }
  return results;
}

async function statements(context: BenchContext, server: Server, body: string, token: string): Promise<number> {
  const counted = await statementsPerRequest(context, server, async (agent) => {
    const answer = await send(agent, server.url, {
      path: '/graphql',
      body,
      headers: { authorization: `Bearer ${token}` },
    });
    return answer.status === 200 && !answer.body.includes('"errors"');
  });
  return counted.perRequest;
}

export const me: Scenario = {
  name: 'me',
  describe: '{ me { id email } } with an access token: gateway vs baseline (same JWT verification and reads)',
  async run(context) {
    const token = context.seed.ownerToken;
    const [gateway, baseline] = await rounds(context, 'me', [
      { name: 'gateway', server: context.gateway, body: ME, token },
      { name: 'baseline', server: context.baseline, body: ME, token },
    ]);
    const ratio = gateway.map((run, i) => run.rps / baseline[i].rps);
    return [
      row('me', 'gateway', figures(gateway)),
      row('me', 'baseline', figures(baseline)),
      row(
        'me',
        'statements/request gateway / baseline',
        `${(await statements(context, context.gateway, ME, token)).toFixed(2)} / ${(await statements(context, context.baseline, ME, token)).toFixed(2)}`,
      ),
      row('me', 'gateway ÷ baseline', `${spread(ratio)}×`, '≥ 0.5×', median(ratio) >= 0.5),
    ];
  },
};

export const apiKey: Scenario = {
  name: 'api-key',
  describe: 'org(id) { id name } with the owner’s API key vs the owner’s access token (same org, same role)',
  async run(context) {
    const body = graphqlBody({
      query: 'query ($org: ID!) { org(id: $org) { id name } }',
      variables: { org: context.seed.orgId },
    });
    const [key, token] = await rounds(context, 'api-key', [
      { name: 'API key', server: context.gateway, body, token: context.seed.apiKey },
      { name: 'access token', server: context.gateway, body, token: context.seed.ownerToken },
    ]);
    const ratio = key.map((run, i) => run.rps / token[i].rps);
    return [
      row('api-key', 'API key', figures(key)),
      row('api-key', 'access token', figures(token)),
      row(
        'api-key',
        'statements/request key / token',
        `${(await statements(context, context.gateway, body, context.seed.apiKey)).toFixed(2)} / ${(await statements(context, context.gateway, body, context.seed.ownerToken)).toFixed(2)}`,
      ),
      row('api-key', 'API key ÷ access token', `${spread(ratio)}×`, '≥ 0.9×', median(ratio) >= 0.9),
    ];
  },
};
