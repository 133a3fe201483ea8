import type { Gateway } from '../../app';
import type { Logger } from '../logger';

/** Time for Apollo, the rate-limit store and the database to stop once HTTP has drained. */
const STOP_AFTER_DRAIN_MS = 15_000;

/**
 * SIGTERM and SIGINT close the gateway: it stops accepting connections, finishes the requests it
 * accepted within the grace period and exits 0. It exits 1 when connections had to be cut at the
 * end of the grace period, when closing fails, or when stopping hangs past its own limit. A repeated
 * signal changes nothing (npm forwards the terminal's SIGINT that node has already received).
 */
export function stopOnSignals(gateway: Gateway, logger: Logger, graceSeconds: number): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, graceSeconds }, 'shutting down');
    setTimeout(
      () => {
        logger.error('shutdown took too long; exiting');
        process.exit(1);
      },
      graceSeconds * 1000 + STOP_AFTER_DRAIN_MS,
    ).unref();
    gateway.close({ graceMs: graceSeconds * 1000 }).then(
      ({ drained }) => {
        if (!drained) logger.error({ graceSeconds }, 'requests were still running at the end of the grace period');
        else logger.info('stopped');
        process.exit(drained ? 0 : 1);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
