/** The samplers of OTEL_TRACES_SAMPLER that the gateway offers (the SDK's own names). */
export const TRACES_SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

export type TracesSampler = (typeof TRACES_SAMPLERS)[number];

/** OpenTelemetry tracing as configured (README, "Tracing"); it exists only when an endpoint is set. */
export type TracingConfig = {
  /** Where spans are POSTed, OTLP over HTTP with protobuf bodies. */
  tracesUrl: string;
  /** Sent with every export (often a vendor's API key): never logged. */
  headers: Record<string, string>;
  /** How long one export may take, in milliseconds. */
  timeoutMs: number;
  serviceName: string;
  /** Further attributes describing this deployment (`deployment.environment`, …). */
  resourceAttributes: Record<string, string>;
  sampler: TracesSampler;
  /** The share of traces a `traceidratio` sampler keeps, 0 to 1. */
  samplerRatio: number;
  /** How long finished spans wait to be sent together, in milliseconds. */
  scheduleDelayMs: number;
};

/**
 * `key1=value1,key2=value2` as OTEL_EXPORTER_OTLP_HEADERS and OTEL_RESOURCE_ATTRIBUTES write it:
 * values percent-encoded (W3C Baggage style), blanks around items ignored. Null when malformed.
 */
export function parseKeyValueList(text: string): Record<string, string> | null {
  const entries: Array<[string, string]> = [];
  for (const item of text.split(',')) {
    if (item.trim() === '') continue;
    const separator = item.indexOf('=');
    if (separator < 0) return null;
    const key = item.slice(0, separator).trim();
    const value = decodePercent(item.slice(separator + 1).trim());
    if (key === '' || value === null) return null;
    entries.push([key, value]);
  }
  return Object.fromEntries(entries);
}

function decodePercent(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

/** RFC 9110 token names, and values without line breaks or NUL: Node refuses to send others. */
export function areSendableHeaders(headers: Record<string, string>): boolean {
  return Object.entries(headers).every(
    ([name, value]) => /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) && /^[^\r\n\0]*$/.test(value),
  );
}

/**
 * The traces URL as the OTLP exporter specification derives it: the signal's own endpoint as given,
 * else `v1/traces` under the base endpoint.
 */
export function tracesUrl(baseEndpoint: string | undefined, tracesEndpoint: string | undefined): string | undefined {
  if (tracesEndpoint) return tracesEndpoint;
  if (!baseEndpoint) return undefined;
  return `${baseEndpoint.replace(/\/+$/, '')}/v1/traces`;
}
