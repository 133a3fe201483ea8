import 'reflect-metadata';
import { auditPrune } from './commands/audit-prune';
import { AUDIT_VERIFY_USAGE, auditVerify } from './commands/audit-verify';
import { BOOTSTRAP_USAGE, bootstrap } from './commands/bootstrap';
import { migrate } from './commands/migrate';
import { serve } from './commands/serve';
import { UsageError } from './commands/usage-error';
import { ConfigError } from './core/config/config';
import { AppError } from './core/errors/app-error';

const USAGE = `usage:
  portcullis serve                  run the gateway (SIGTERM/SIGINT: drain, then exit 0)
  portcullis migrate                bring the database schema up to date
  ${BOOTSTRAP_USAGE}
  ${AUDIT_VERIFY_USAGE}
  portcullis audit prune            apply every org's audit retention (a daily cron job)

Configuration comes from the environment (README, "Configuration"). Without DATABASE_URL the
admin commands attach to the embedded server a running gateway holds in DATA_DIR, or start it
for their own work.`;

/**
 * Exit codes: 0 done; 1 failed (a refused start, a failed command, a broken audit chain); 2 a
 * command line not understood, or `audit verify` unable to verify (so 1 always means "broken").
 */
async function dispatch(args: string[]): Promise<number | 'serving'> {
  const [command, sub, ...rest] = args;
  if (command === 'serve' && sub === undefined) {
    await serve();
    return 'serving';
  }
  if (command === 'migrate' && sub === undefined) return migrate();
  if (command === 'bootstrap') return bootstrap(args.slice(1));
  if (command === 'audit' && sub === 'verify') return auditVerify(rest);
  if (command === 'audit' && sub === 'prune' && rest.length === 0) return auditPrune();
  if (command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  throw new UsageError(USAGE.replace(/^usage:/, ''));
}

/** Why a command failed, for stderr; the gateway's start failures also name the field at fault. */
function describe(error: unknown, serving: boolean): string {
  if (error instanceof ConfigError || error instanceof UsageError) return error.message;
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
    (error: unknown) => {
      process.stderr.write(`${describe(error, args[0] === 'serve')}\n`);
      const couldNotVerify = args[0] === 'audit' && args[1] === 'verify';
      process.exit(error instanceof UsageError || couldNotVerify ? 2 : 1);
    },
  );
}

// `node -r ts-node/register src/cli.ts …` (the tests, `npm run dev`-style) runs it directly.
if (require.main === module) runCli(process.argv.slice(2));
