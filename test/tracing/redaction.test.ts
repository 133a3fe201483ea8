import { SpanKind, SpanStatusCode, type Span } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { RedactingSpanProcessor } from '../../src/core/observability/tracing-redaction';

/** What the redacting processor hands on, for spans recorded through the SDK itself. */
function exportedSpan(record: (span: Span) => void) {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    spanProcessors: [new RedactingSpanProcessor(new SimpleSpanProcessor(exporter))],
  });
  const span = provider.getTracer('test').startSpan('GET /password/reset', { kind: SpanKind.SERVER });
  record(span);
  span.end();
  const [exported] = exporter.getFinishedSpans();
  return exported;
}

it('keeps parameter names but not values, in queries and in URLs', () => {
  const span = exportedSpan((recording) =>
    recording.setAttributes({
      'url.path': '/password/reset',
      'url.query': 'token=abc123&lang=en&flag',
      'url.full': 'https://id.example.com/email/verify?token=abc123#fragment-token',
      'http.target': '/invitations/accept?token=abc123',
    }),
  );
  expect(span.attributes).toEqual({
    'url.path': '/password/reset',
    'url.query': 'token=REDACTED&lang=REDACTED&flag',
    'url.full': 'https://id.example.com/email/verify?token=REDACTED',
    'http.target': '/invitations/accept?token=REDACTED',
  });
});

it('drops headers, SQL parameter values and GraphQL variables', () => {
  const span = exportedSpan((recording) =>
    recording.setAttributes({
      'http.request.header.authorization': ['Bearer abc'],
      'http.request.header.cookie': ['portcullis_refresh=abc'],
      'http.response.header.set-cookie': ['portcullis_refresh=def'],
      'db.postgresql.values': ['hash'],
      'db.query.parameter.0': 'hash',
      'graphql.variables.password': 'hunter2',
      'db.query.text': 'SELECT 1 WHERE id = $1',
    }),
  );
  expect(span.attributes).toEqual({ 'db.query.text': 'SELECT 1 WHERE id = $1' });
});

it('keeps an error as its type and status code, without the message that may quote input', () => {
  const span = exportedSpan((recording) => {
    recording.recordException({ name: 'graphql.validation.error', message: 'Expected Int, found "hunter2"' });
    recording.setStatus({ code: SpanStatusCode.ERROR, message: 'invalid input syntax for type uuid: "hunter2"' });
  });
  expect(JSON.stringify([span.events, span.status])).not.toContain('hunter2');
  expect(span.events[0].attributes).toEqual({ 'exception.type': 'graphql.validation.error' });
  expect(span.status).toEqual({ code: SpanStatusCode.ERROR });
});
