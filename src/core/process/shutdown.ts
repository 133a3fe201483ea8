import type { Gateway } from '../../app';
import type { Logger } from '../logger';

/**
 * SIGTERM and SIGINT close the gateway: it finishes what it accepted within the grace period and the
 * process exits 0; past the grace period, or when closing fails, it exits 1.
 */
export function stopOnSignals(gateway: Gateway, logger: Logger, graceSeconds: number): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, graceSeconds * 1000).unref();
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
