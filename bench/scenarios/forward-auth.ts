/**
 * `GET /auth/check` as a reverse proxy calls it: a member's access token alone, and with
 * `X-Resource` (a resource the member holds a direct READ grant on), against the same process's
 * `/healthz`. Warm-path statements: after a warm-up, a warm path should reach no database.
 */
import http from 'node:http';
import { load, send, type Run } from '../lib/load';
import { runSeconds, statementsPerRequest, type Scenario } from '../lib/context';
import { figures, median, row, spread } from '../lib/report';

export const forwardAuth: Scenario = {
  name: 'forward-auth',
  describe: 'GET /auth/check with a token, and with X-Resource, vs /healthz of the same process, 10 connections',
  async run(context) {
    const { gateway, seed } = context;
    const auth = { authorization: `Bearer ${seed.grantedToken}` };
    const variants = [
      { name: 'token', headers: auth },
      { name: 'X-Resource', headers: { ...auth, 'x-resource': seed.resourceName } },
      { name: '/healthz', headers: {} as Record<string, string> },
    ];
    for (const variant of variants.slice(0, 2)) {
      const answer = await send(new http.Agent(), gateway.url, {
        method: 'GET',
        path: '/auth/check',
        headers: variant.headers,
      });
      if (answer.status !== 200)
        throw new Error(`/auth/check (${variant.name}) answered ${answer.status}: ${answer.body}`);
    }
    const runs: Run[][] = variants.map(() => []);
    for (let round = -1; round < context.options.rounds; round++) {
      for (const [i, variant] of variants.entries()) {
        const run = await load({
          url: gateway.url,
          connections: 10,
          durationSeconds: runSeconds(context, round),
          requests: [
            { method: 'GET', path: variant.name === '/healthz' ? '/healthz' : '/auth/check', headers: variant.headers },
          ],
        });
        if (round < 0) continue;
        runs[i].push(run);
        console.log(
          `  forward-auth round ${round + 1} ${variant.name}: ${run.rps.toFixed(0)} req/s, p50 ${run.p50} ms, p99 ${run.p99} ms`,
        );
      }
    }
    const warm = (headers: Record<string, string>) =>
      statementsPerRequest(context, gateway, async (agent) => {
        const answer = await send(agent, gateway.url, { method: 'GET', path: '/auth/check', headers });
        return answer.status === 200;
      });
    const [token, resource, healthz] = runs;
    const tokenRatio = token.map((run, i) => run.rps / healthz[i].rps);
    const resourceRatio = resource.map((run, i) => run.rps / healthz[i].rps);
    const tokenWarm = await warm(variants[0].headers);
    const resourceWarm = await warm(variants[1].headers);
    const line = (label: string, list: Run[], target = '', pass: boolean | null = null) =>
      row('forward-auth', label, figures(list), target, pass);
    return [
      line('token only', token, 'p99 ≤ 5 ms', median(token.map((r) => r.p99)) <= 5),
      line('with X-Resource', resource, 'p99 ≤ 5 ms', median(resource.map((r) => r.p99)) <= 5),
      line('/healthz', healthz),
      row('forward-auth', 'token ÷ /healthz', `${spread(tokenRatio)}×`, '≥ 0.25×', median(tokenRatio) >= 0.25),
      row('forward-auth', 'X-Resource ÷ /healthz', `${spread(resourceRatio)}×`, '≥ 0.2×', median(resourceRatio) >= 0.2),
      row(
        'forward-auth',
        'warm statements/request token / X-Resource (raw)',
        `${tokenWarm.perRequest.toFixed(2)} / ${resourceWarm.perRequest.toFixed(2)} (${tokenWarm.raw.toFixed(2)} / ${resourceWarm.raw.toFixed(2)})`,
        '0 (< 1 in 20)',
        tokenWarm.perRequest < 0.05 && resourceWarm.perRequest < 0.05,
      ),
    ];
  },
};
