import { diag, DiagLogLevel, type DiagLogFunction } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { GraphQLInstrumentation } from '@opentelemetry/instrumentation-graphql';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { Logger } from '../logger';
import { RedactingSpanProcessor } from './tracing-redaction';
import type { TracingConfig } from './tracing-settings';

/** The enum of `compression` lives in a package the gateway does not depend on directly. */
type ExporterOptions = NonNullable<ConstructorParameters<typeof OTLPTraceExporter>[0]>;

export type Tracing = {
  /** Sends the spans still buffered, within the export timeout, and stops tracing; never fails. */
  shutdown(): Promise<void>;
};

/**
 * The specification's counts, and values cut at 8 KiB (the longest SQL statements), all given: the
 * SDK reads OTEL_*_LIMIT variables for whatever is left out, and configuration is read in one place.
 */
const SPAN_LIMITS = {
  attributeCountLimit: 128,
  attributeValueLengthLimit: 8_192,
  eventCountLimit: 128,
  linkCountLimit: 128,
  attributePerEventCountLimit: 128,
  attributePerLinkCountLimit: 128,
};
const MAX_QUEUED_SPANS = 2_048;
const MAX_SPANS_PER_EXPORT = 512;

/**
 * Resolver spans for the first two levels of fields only, one per field of a list rather than one
 * per item: a page of 100 members makes a handful of spans, not thousands.
 */
const RESOLVER_SPAN_DEPTH = 2;

/**
 * Starts exporting spans over OTLP/HTTP (protobuf) and instruments HTTP, GraphQL and PostgreSQL.
 * Must run before those modules are first required: the instrumentations patch them as they load.
 */
export function startTracing(settings: TracingConfig, logger: Logger): Tracing {
  reportSdkProblems(logger);
  const exporter = new OTLPTraceExporter({
    url: settings.tracesUrl,
    headers: settings.headers,
    timeoutMillis: settings.timeoutMs,
    compression: 'none' as ExporterOptions['compression'],
    // Every option is set, so the exporter falls back on none of the OTEL_* variables it reads itself
    // (the headers it also merges in from them are the ones configuration parsed).
    httpAgentOptions: { keepAlive: true },
  });
  const batches = new BatchSpanProcessor(exporter, {
    scheduledDelayMillis: settings.scheduleDelayMs,
    exportTimeoutMillis: settings.timeoutMs,
    maxQueueSize: MAX_QUEUED_SPANS,
    maxExportBatchSize: MAX_SPANS_PER_EXPORT,
  });
  const provider = new NodeTracerProvider({
    resource: defaultResource().merge(
      resourceFromAttributes({
        ...settings.resourceAttributes,
        [ATTR_SERVICE_NAME]: settings.serviceName,
        // Tells apart the processes of one host, the workers of WORKERS among them.
        'process.pid': process.pid,
      }),
    ),
    sampler: sampler(settings),
    spanLimits: SPAN_LIMITS,
    generalLimits: SPAN_LIMITS,
    spanProcessors: [new RedactingSpanProcessor(batches)],
  });
  provider.register();
  const stopInstrumenting = registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      // The gateway calls no HTTP service; its only outgoing requests would be the exports themselves.
      new HttpInstrumentation({ disableOutgoingRequestInstrumentation: true }),
      new GraphQLInstrumentation({
        allowValues: false,
        depth: RESOLVER_SPAN_DEPTH,
        mergeItems: true,
        ignoreTrivialResolveSpans: true,
      }),
      // Statements as written, with their $1 placeholders and never the values; none outside a request
      // (the invalidation listener, timers), which would each start a trace of their own.
      new PgInstrumentation({ enhancedDatabaseReporting: false, requireParentSpan: true }),
    ],
  });
  const { origin, pathname } = new URL(settings.tracesUrl);
  // Origin and path only: a user and password may be written into the URL.
  logger.info({ tracesUrl: `${origin}${pathname}`, sampler: settings.sampler }, 'tracing on');
  return {
    async shutdown() {
      stopInstrumenting();
      // A collector that is down must not turn a clean stop into a failed one.
      await provider.shutdown().catch((error: unknown) => {
        const reason = error instanceof Error ? error.message : String(error);
        logger.warn({ component: 'tracing', reason }, 'could not send the last spans');
      });
    },
  };
}

function sampler({ sampler: name, samplerRatio }: TracingConfig): Sampler {
  const ratio = new TraceIdRatioBasedSampler(samplerRatio);
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio;
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio });
  }
}

/**
 * The SDK's warnings (a failed export, a module loaded before its instrumentation) go to the log,
 * as their message only: the arguments after it can hold a request's options, headers included.
 */
function reportSdkProblems(logger: Logger): void {
  const tracingLogger = logger.child({ component: 'tracing' });
  const warn: DiagLogFunction = (message) => tracingLogger.warn(message);
  const ignore: DiagLogFunction = () => undefined;
  diag.setLogger({ error: warn, warn, info: ignore, debug: ignore, verbose: ignore }, DiagLogLevel.WARN);
}
