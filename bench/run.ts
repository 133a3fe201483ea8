/**
 * Issue 13's benchmark suite: the gateway against a plain baseline server and PostGraphile on one
 * fresh database, alternating runs, medians of rounds with their spread, statements counted by
 * proxies. See bench/README.md.
 *
 *   npm run bench -- [--only member-page,me] [--rounds 3] [--duration 10] [--bcrypt-threads N] [--write]
 */
import 'reflect-metadata';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import * as prettier from 'prettier';
import {
  ADMIN_URL,
  build,
  createDatabase,
  seed,
  startBaseline,
  startGateway,
  startPostGraphile,
  type Server,
} from './lib/environment';
import type { BenchContext, Scenario } from './lib/context';
import { stopAll } from './lib/processes';
import { Proxies } from './lib/proxies';
import { consoleTable, describeMachine, machineLine, markdownTable, row, type Row } from './lib/report';
import { audit } from './scenarios/audit';
import { apiKey, me } from './scenarios/credentials';
import { forwardAuth } from './scenarios/forward-auth';
import { memberPage, memberPageConcurrency } from './scenarios/member-page';
import { concurrentSignIns, loginStorm, refresh } from './scenarios/sign-in';

const README = path.join(__dirname, 'README.md');
const BEGIN = '<!-- bench:figures:begin -->';
const END = '<!-- bench:figures:end -->';

function options() {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      rounds: { type: 'string', default: '3' },
      duration: { type: 'string', default: '10' },
      'bcrypt-threads': { type: 'string' },
      write: { type: 'boolean', default: false },
      'skip-build': { type: 'boolean', default: false },
    },
  });
  const rounds = Number(values.rounds);
  const durationSeconds = Number(values.duration);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a positive integer');
  if (!(durationSeconds >= 1)) throw new Error('--duration must be at least 1 (seconds)');
  const bcryptThreads = values['bcrypt-threads'] ? Number(values['bcrypt-threads']) : undefined;
  const scenarios: Scenario[] = [
    memberPage,
    memberPageConcurrency,
    me,
    apiKey,
    loginStorm(bcryptThreads),
    refresh,
    forwardAuth,
    concurrentSignIns,
    audit,
  ];
  const only = values.only
    ?.split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  const unknown = only?.filter((name) => !scenarios.some((scenario) => scenario.name === name)) ?? [];
  if (unknown.length > 0) {
    throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${scenarios.map((s) => s.name).join(', ')}`);
  }
  return {
    rounds,
    durationSeconds,
    write: values.write,
    skipBuild: values['skip-build'],
    scenarios: only ? scenarios.filter((scenario) => only.includes(scenario.name)) : scenarios,
  };
}

async function postgresVersion(): Promise<string> {
  const client = new Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return (await client.query<{ server_version: string }>('SHOW server_version')).rows[0].server_version;
  } finally {
    await client.end();
  }
}

/** Written as Prettier would write it, so `npm run check` stays green after `--write`. */
async function writeReadme(rows: Row[], machine: string, command: string): Promise<void> {
  const text = readFileSync(README, 'utf8');
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (start < 0 || end < start) throw new Error(`bench/README.md lacks the ${BEGIN} … ${END} markers`);
  const figures = `${BEGIN}\nMachine: ${machine}. Command: \`${command}\`.\n\n${markdownTable(rows)}\n${END}`;
  const written = text.slice(0, start) + figures + text.slice(end + END.length);
  const options = (await prettier.resolveConfig(README)) ?? {};
  writeFileSync(README, await prettier.format(written, { ...options, filepath: README }));
}

async function main(): Promise<void> {
  const settings = options();
  const needsServers = settings.scenarios.some((scenario) => scenario !== audit);
  const rows: Row[] = [];
  const machine = describeMachine(await postgresVersion());
  console.log(`machine: ${machineLine(machine)}`);
  console.log(
    `rounds ${settings.rounds}, ${settings.durationSeconds} s per run; scenarios: ${settings.scenarios.map((s) => s.name).join(', ')}`,
  );
  let context: BenchContext | null = null;
  if (needsServers) {
    if (!settings.skipBuild) {
      console.log('building dist/ (npm run build)…');
      await build();
    }
    await createDatabase();
    const proxies = Proxies.start();
    const gateway = await startGateway(proxies, 'gateway');
    console.log('seeding an org of 1,000 members…');
    const seeded = await seed(gateway);
    const [baseline, postgraphile] = await Promise.all([startBaseline(proxies, gateway), startPostGraphile(proxies)]);
    let second: Promise<Server> | null = null;
    context = {
      options: { rounds: settings.rounds, durationSeconds: settings.durationSeconds },
      proxies,
      gateway,
      baseline,
      postgraphile,
      seed: seeded,
      secondGateway: () => (second ??= startGateway(proxies, 'gateway-2')),
    };
  }
  for (const scenario of settings.scenarios) {
    console.log(`\n== ${scenario.name}: ${scenario.describe}`);
    const started = Date.now();
    try {
      rows.push(...(await scenario.run(context as BenchContext)));
    } catch (error) {
      // One broken scenario (a server refusing under load, say) does not cost the others' figures.
      console.error(`  ${scenario.name} failed:`, error);
      process.exitCode = 1;
      rows.push(
        row(
          scenario.name,
          'failed',
          String(error instanceof Error ? error.message : error)
            .split('\n')[0]
            .slice(0, 160),
          '',
          false,
        ),
      );
    }
    console.log(`  (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
  console.log(`\n${consoleTable(rows)}\n`);
  if (settings.write) {
    const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();
    await writeReadme(rows, machineLine(machine), command);
    console.log('figures written to bench/README.md');
  }
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => stopAll());
