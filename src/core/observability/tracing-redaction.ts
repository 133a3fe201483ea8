import type { Attributes, Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor, TimedEvent } from '@opentelemetry/sdk-trace-base';

const REDACTED = 'REDACTED';

/** Attributes holding a URL, or its query string alone: query values can be tokens (`?token=`). */
const URL_ATTRIBUTES = new Set(['url.full', 'http.url', 'http.target']);
const QUERY_ATTRIBUTES = new Set(['url.query']);

/**
 * Attributes that carry request data itself: headers (Authorization, Cookie), SQL parameter values,
 * GraphQL variables (nothing records those as configured; dropped in case that changes), and the
 * GraphQL document: with `allowValues: false` its literals are masked, but its comments are copied
 * as written (`# login(password: "…")` left in GraphiQL). The span's name keeps the operation.
 */
const DATA_ATTRIBUTES =
  /^(http\.(request|response)\.header\.|db\.postgresql\.values$|db\.query\.parameter\.|graphql\.variables\.|graphql\.source$)/;

/**
 * Texts that quote input: a GraphQL validation error names the literal it refused (a password
 * written into the document), a PostgreSQL error the value it could not read, and a stack trace
 * starts with the message. The exception's type stays.
 */
const QUOTING_EVENT_ATTRIBUTES = new Set(['exception.message', 'exception.stacktrace']);

/**
 * Hands spans on with nothing secret in them, whatever the instrumentations recorded: query values,
 * request data and error texts are removed here, before any exporter sees the span.
 */
export class RedactingSpanProcessor implements SpanProcessor {
  constructor(private readonly next: SpanProcessor) {}

  onStart(span: Span, parentContext: Context): void {
    this.next.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    this.next.onEnd(redactSpan(span));
  }

  forceFlush(): Promise<void> {
    return this.next.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.next.shutdown();
  }
}

export function redactSpan(span: ReadableSpan): ReadableSpan {
  return {
    name: span.name,
    kind: span.kind,
    spanContext: () => span.spanContext(),
    parentSpanContext: span.parentSpanContext,
    startTime: span.startTime,
    endTime: span.endTime,
    duration: span.duration,
    ended: span.ended,
    // A status message is the error's message (pg's quotes values): the code says enough.
    status: { code: span.status.code },
    attributes: redactAttributes(span.attributes),
    links: span.links,
    events: span.events.map(redactEvent),
    resource: span.resource,
    instrumentationScope: span.instrumentationScope,
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: span.droppedEventsCount,
    droppedLinksCount: span.droppedLinksCount,
  };
}

export function redactAttributes(attributes: Attributes): Attributes {
  const kept: Attributes = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (DATA_ATTRIBUTES.test(key)) continue;
    if (typeof value === 'string' && QUERY_ATTRIBUTES.has(key)) kept[key] = withoutValues(value);
    else if (typeof value === 'string' && URL_ATTRIBUTES.has(key)) kept[key] = urlWithoutQueryValues(value);
    else kept[key] = value;
  }
  return kept;
}

function redactEvent(event: TimedEvent): TimedEvent {
  if (!event.attributes) return event;
  const attributes = Object.fromEntries(
    Object.entries(event.attributes).filter(([key]) => !QUOTING_EVENT_ATTRIBUTES.has(key)),
  );
  return { ...event, attributes };
}

/** `a=1&b` → `a=REDACTED&b`: the parameters' names say which page it was, their values stay home. */
function withoutValues(query: string): string {
  return query
    .split('&')
    .map((pair) => (pair.includes('=') ? `${pair.slice(0, pair.indexOf('='))}=${REDACTED}` : pair))
    .join('&');
}

/** The URL with its query's values redacted and its fragment dropped (it can hold tokens too). */
function urlWithoutQueryValues(url: string): string {
  const [beforeFragment] = url.split('#', 1);
  const queryStart = beforeFragment.indexOf('?');
  if (queryStart < 0) return beforeFragment;
  return `${beforeFragment.slice(0, queryStart)}?${withoutValues(beforeFragment.slice(queryStart + 1))}`;
}
