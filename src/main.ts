import 'reflect-metadata';
import { startGateway } from './app';
import { ConfigError, loadConfig } from './core/config/config';
import { AppError } from './core/errors/app-error';
import { createLogger } from './core/logger';
import { stopOnSignals } from './core/process/shutdown';

async function main() {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const gateway = await startGateway(config, logger);

  stopOnSignals(gateway, logger, config.shutdownGraceSeconds);
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
