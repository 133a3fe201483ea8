import 'reflect-metadata';
import { startGateway } from './app';
import { ConfigError, loadConfig } from './core/config/config';
import { AppError } from './core/errors/app-error';
import { createLogger } from './core/logger';

const SHUTDOWN_GRACE_MS = 10_000;

async function main() {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const gateway = await startGateway(config, logger);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    gateway.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    const field = error instanceof AppError ? error.extensions.field : undefined;
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`portcullis failed to start: ${field ? `${String(field)}: ` : ''}${message}\n`);
  }
  process.exit(1);
});
