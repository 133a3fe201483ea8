import type { Gateway } from '../../app';
import type { Logger } from '../logger';
import type { TracingConfig } from './tracing-settings';

/**
 * Starts tracing when it is configured. `serve` calls it before it imports the gateway: the
 * instrumentations patch http, pg and graphql as they are first required. Returns what to wrap the
 * started gateway in so that closing it also sends the spans still buffered.
 */
export async function startTracingFirst(
  settings: TracingConfig | undefined,
  logger: Logger,
): Promise<(gateway: Gateway) => Gateway> {
  if (!settings) return (gateway) => gateway;
  // Required only when on: with tracing off, no instrumentation is loaded at all.
  const { startTracing } = await import('./tracing');
  const tracing = startTracing(settings, logger);
  return (gateway) => ({
    ...gateway,
    async close(options) {
      try {
        return await gateway.close(options);
      } finally {
        await tracing.shutdown();
      }
    },
  });
}
