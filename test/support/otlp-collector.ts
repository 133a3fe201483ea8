import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback OTLP/HTTP collector: accepts `POST /v1/traces` with protobuf bodies, as the gateway's
 * exporter sends them, and keeps both the raw bytes (to search for values that must never leave)
 * and the spans decoded from them.
 */

export type AttributeValue = string | boolean | number | AttributeValue[] | { [key: string]: AttributeValue } | null;
export type Attributes = Record<string, AttributeValue>;

export type ReceivedSpan = {
  traceId: string;
  spanId: string;
  /** Empty for a trace's root span. */
  parentSpanId: string;
  name: string;
  /** OTLP's SpanKind: 2 server, 3 client, 1 internal. */
  kind: number;
  attributes: Attributes;
  events: Array<{ name: string; attributes: Attributes }>;
  status: { code: number; message: string };
  resource: Attributes;
  scope: string;
};

export type OtlpCollector = {
  /** The base endpoint, as OTEL_EXPORTER_OTLP_ENDPOINT takes it. */
  endpoint: string;
  spans(): ReceivedSpan[];
  /** Every export body received, as sent. */
  bodies(): Buffer[];
  /** The headers of each export accepted. */
  headers(): IncomingMessage['headers'][];
  /** Requests refused: another path, method or content type than an OTLP/HTTP protobuf export. */
  refused(): string[];
  /** Resolves once `done(spans)` holds for the spans received, checking as exports arrive. */
  waitFor(done: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
};

export async function startOtlpCollector(): Promise<OtlpCollector> {
  const bodies: Buffer[] = [];
  const spans: ReceivedSpan[] = [];
  const refused: string[] = [];
  const headers: IncomingMessage['headers'][] = [];
  const server = createServer((request, response) => {
    void readBody(request).then((body) => {
      const contentType = request.headers['content-type'];
      if (request.method !== 'POST' || request.url !== '/v1/traces' || contentType !== 'application/x-protobuf') {
        refused.push(`${request.method} ${request.url} ${contentType}`);
        response.writeHead(404).end();
        return;
      }
      bodies.push(body);
      headers.push(request.headers);
      spans.push(...decodeExportTraceServiceRequest(body));
      // An empty ExportTraceServiceResponse: every span accepted.
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans: () => [...spans],
    bodies: () => [...bodies],
    headers: () => [...headers],
    refused: () => [...refused],
    async waitFor(done, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!done(spans)) {
        if (Date.now() > deadline) {
          throw new Error(
            `the collector did not receive the spans expected within ${timeoutMs} ms; it has:\n${describe(spans)}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return [...spans];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function describe(spans: ReceivedSpan[]): string {
  return spans.map((span) => `  ${span.traceId.slice(0, 8)} ${span.scope}: ${span.name}`).join('\n');
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

// A protobuf reader for the messages of opentelemetry/proto/collector/trace/v1 that the stub reads.

type Field = { number: number; varint?: bigint; bytes?: Buffer; fixed64?: Buffer };

function fields(buffer: Buffer): Field[] {
  const result: Field[] = [];
  let offset = 0;
  const varint = (): bigint => {
    let value = 0n;
    let shift = 0n;
    for (;;) {
      const byte = buffer[offset++];
      value |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return value;
      shift += 7n;
    }
  };
  while (offset < buffer.length) {
    const key = Number(varint());
    const number = key >>> 3;
    switch (key & 7) {
      case 0:
        result.push({ number, varint: varint() });
        break;
      case 1:
        result.push({ number, fixed64: buffer.subarray(offset, offset + 8) });
        offset += 8;
        break;
      case 2: {
        const length = Number(varint());
        result.push({ number, bytes: buffer.subarray(offset, offset + length) });
        offset += length;
        break;
      }
      case 5:
        offset += 4;
        break;
      default:
        throw new Error(`unsupported protobuf wire type ${key & 7}`);
    }
  }
  return result;
}

const messages = (buffer: Buffer, number: number): Buffer[] =>
  fields(buffer)
    .filter((field) => field.number === number && field.bytes)
    .map((field) => field.bytes as Buffer);
const message = (buffer: Buffer, number: number): Buffer => messages(buffer, number)[0] ?? Buffer.alloc(0);
const text = (buffer: Buffer, number: number): string => message(buffer, number).toString('utf8');
const hex = (buffer: Buffer, number: number): string => message(buffer, number).toString('hex');
const integer = (buffer: Buffer, number: number): number =>
  Number(fields(buffer).find((field) => field.number === number)?.varint ?? 0n);

/** AnyValue: string 1, bool 2, int 3, double 4, array 5, kvlist 6, bytes 7. */
function anyValue(buffer: Buffer): AttributeValue {
  const [field] = fields(buffer);
  if (!field) return null;
  switch (field.number) {
    case 1:
      return (field.bytes as Buffer).toString('utf8');
    case 2:
      return field.varint === 1n;
    case 3:
      return Number(BigInt.asIntN(64, field.varint as bigint));
    case 4:
      return (field.fixed64 as Buffer).readDoubleLE(0);
    case 5:
      return messages(field.bytes as Buffer, 1).map(anyValue);
    case 6:
      return keyValues(field.bytes as Buffer, 1);
    default:
      return (field.bytes as Buffer).toString('hex');
  }
}

/** The repeated KeyValue { key 1, value 2 } at `number`. */
function keyValues(buffer: Buffer, number: number): Attributes {
  return Object.fromEntries(messages(buffer, number).map((pair) => [text(pair, 1), anyValue(message(pair, 2))]));
}

function decodeExportTraceServiceRequest(body: Buffer): ReceivedSpan[] {
  return messages(body, 1).flatMap((resourceSpans) => {
    const resource = keyValues(message(resourceSpans, 1), 1);
    return messages(resourceSpans, 2).flatMap((scopeSpans) => {
      const scope = text(message(scopeSpans, 1), 1);
      return messages(scopeSpans, 2).map((span): ReceivedSpan => ({
        traceId: hex(span, 1),
        spanId: hex(span, 2),
        parentSpanId: hex(span, 4),
        name: text(span, 5),
        kind: integer(span, 6),
        attributes: keyValues(span, 9),
        events: messages(span, 11).map((event) => ({ name: text(event, 2), attributes: keyValues(event, 3) })),
        status: { message: text(message(span, 15), 2), code: integer(message(span, 15), 3) },
        resource,
        scope,
      }));
    });
  });
}
