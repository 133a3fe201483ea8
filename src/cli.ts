import 'reflect-metadata';
import { UsageError } from './commands/usage-error';
import { ConfigError } from './core/config/config';

// Each command's module is imported when it runs, not up front: `serve` starts tracing before the
// gateway's modules load, as the instrumentations patch http, pg and graphql when first required.

async function usage(): Promise<string> {
  const [{ BOOTSTRAP_USAGE }, { AUDIT_VERIFY_USAGE }] = await Promise.all([
    import('./commands/bootstrap'),
    import('./commands/audit-verify'),
  ]);
  return `usage:
  portcullis serve                  run the gateway (SIGTERM/SIGINT: drain, then exit 0)
  portcullis migrate                bring the database schema up to date
  ${BOOTSTRAP_USAGE}
  ${AUDIT_VERIFY_USAGE}
  portcullis audit prune            apply every org's audit retention (a daily cron job)

Configuration comes from the environment (README, "Configuration"). Without DATABASE_URL the
admin commands attach to the embedded server a running gateway holds in DATA_DIR, or start it
for their own work.`;
}

/**
 * Exit codes: 0 done; 1 failed (a refused start, a failed command, a broken audit chain); 2 a
 * command line not understood, or `audit verify` unable to verify (so 1 always means "broken").
 */
async function dispatch(args: string[]): Promise<number | 'serving'> {
  const [command, sub, ...rest] = args;
  if (command === 'serve' && sub === undefined) {
    await (await import('./commands/serve')).serve();
    return 'serving';
  }
  if (command === 'migrate' && sub === undefined) return (await import('./commands/migrate')).migrate();
  if (command === 'bootstrap') return (await import('./commands/bootstrap')).bootstrap(args.slice(1));
  if (command === 'audit' && sub === 'verify') return (await import('./commands/audit-verify')).auditVerify(rest);
  if (command === 'audit' && sub === 'prune' && rest.length === 0) {
    return (await import('./commands/audit-prune')).auditPrune();
  }
  if (command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${await usage()}\n`);
    return 0;
  }
  throw new UsageError((await usage()).replace(/^usage:/, ''));
}

/** Why a command failed, for stderr; the gateway's start failures also name the field at fault. */
async function describe(error: unknown, serving: boolean): Promise<string> {
  if (error instanceof ConfigError || error instanceof UsageError) return error.message;
  const { AppError } = await import('./core/errors/app-error');
  const message = error instanceof Error ? error.message : String(error);
  const field = serving && error instanceof AppError ? error.extensions.field : undefined;
  return field
    ? `portcullis failed to start: ${String(field)}: ${message}`
    : serving
      ? `portcullis failed to start: ${message}`
      : message;
}

export function runCli(args: string[]): void {
  dispatch(args).then(
    (outcome) => {
      if (outcome !== 'serving') process.exit(outcome);
    },
    async (error: unknown) => {
      process.stderr.write(`${await describe(error, args[0] === 'serve')}\n`);
      const couldNotVerify = args[0] === 'audit' && args[1] === 'verify';
      process.exit(error instanceof UsageError || couldNotVerify ? 2 : 1);
    },
  );
}

// `node -r ts-node/register src/cli.ts …` (the tests, `npm run dev`-style) runs it directly.
if (require.main === module) runCli(process.argv.slice(2));
