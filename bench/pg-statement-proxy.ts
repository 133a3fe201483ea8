/**
 * A TCP proxy between one server and PostgreSQL that counts the SQL statements the server runs.
 * Bytes are forwarded untouched as they arrive; a copy of the client's side is parsed as the
 * frontend protocol (v3): a simple Query ('Q') counts each statement in its text, an extended-
 * protocol Execute ('E') counts the statement its portal was bound to (Bind 'B' → Parse 'P').
 * Transaction control is not counted: it is how a server batches work, not work it asks for.
 * No TLS: the bench connects in the clear on 127.0.0.1, and an SSLRequest is answered by the
 * server itself ('N'), after which the startup message follows in the clear.
 */
import net from 'node:net';

const SSL_REQUEST = 80877103;
const GSS_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;

const TRANSACTION_CONTROL =
  /^(begin|commit|end|rollback|abort|savepoint|release|start\s+transaction|set\s+local|set\s+transaction|set\s+session\s+characteristics)\b/i;

/** Whether a statement only steers the transaction (not counted). */
export function isTransactionControl(statement: string): boolean {
  return TRANSACTION_CONTROL.test(stripLeadingComments(statement));
}

function stripLeadingComments(text: string): string {
  let rest = text.trimStart();
  for (;;) {
    if (rest.startsWith('--')) {
      const end = rest.indexOf('\n');
      rest = end < 0 ? '' : rest.slice(end + 1).trimStart();
    } else if (rest.startsWith('/*')) {
      const end = rest.indexOf('*/');
      rest = end < 0 ? '' : rest.slice(end + 2).trimStart();
    } else {
      return rest;
    }
  }
}

/**
 * The statements of a simple Query's text, split on semicolons outside quotes, dollar quotes and
 * comments; empty ones dropped.
 */
export function splitStatements(text: string): string[] {
  const statements: string[] = [];
  let start = 0;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === "'" || c === '"') {
      const close = text.indexOf(c, i + 1);
      i = close < 0 ? text.length : close + 1;
    } else if (c === '-' && text[i + 1] === '-') {
      const close = text.indexOf('\n', i);
      i = close < 0 ? text.length : close + 1;
    } else if (c === '/' && text[i + 1] === '*') {
      const close = text.indexOf('*/', i + 2);
      i = close < 0 ? text.length : close + 2;
    } else if (c === '$') {
      const tag = /^\$[A-Za-z_0-9]*\$/.exec(text.slice(i));
      if (tag) {
        const close = text.indexOf(tag[0], i + tag[0].length);
        i = close < 0 ? text.length : close + tag[0].length;
      } else {
        i += 1;
      }
    } else if (c === ';') {
      statements.push(text.slice(start, i));
      i += 1;
      start = i;
    } else {
      i += 1;
    }
  }
  statements.push(text.slice(start));
  return statements.map((statement) => statement.trim()).filter((statement) => stripLeadingComments(statement) !== '');
}

export type StatementCounts = {
  /** Statements counted (transaction control excluded). */
  statements: number;
  /** Transaction-control statements seen and not counted. */
  transactionControl: number;
  /** The counted statements' texts, oldest first, when recording was asked for. */
  texts: string[];
};

/** Parses one connection's frontend messages, reporting each executed statement's text. */
export class FrontendParser {
  private buffer: Buffer = Buffer.alloc(0);
  private started = false;
  /** Prepared statement name → its SQL ('' is the unnamed statement). */
  private readonly prepared = new Map<string, string>();
  /** Portal name → the SQL of the statement bound to it. */
  private readonly portals = new Map<string, string>();

  constructor(private readonly onStatement: (sql: string) => void) {}

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const consumed = this.started ? this.typedMessage() : this.startupMessage();
      if (consumed === 0) break;
      this.buffer = this.buffer.subarray(consumed);
    }
  }

  /** Untyped messages before the session starts: SSL/GSS requests, cancel, then the startup message. */
  private startupMessage(): number {
    if (this.buffer.length < 8) return 0;
    const length = this.buffer.readInt32BE(0);
    if (this.buffer.length < length) return 0;
    const code = this.buffer.readInt32BE(4);
    if (code !== SSL_REQUEST && code !== GSS_REQUEST && code !== CANCEL_REQUEST) this.started = true;
    return length;
  }

  private typedMessage(): number {
    if (this.buffer.length < 5) return 0;
    const length = this.buffer.readInt32BE(1);
    if (this.buffer.length < 1 + length) return 0;
    const type = String.fromCharCode(this.buffer[0]);
    const body = this.buffer.subarray(5, 1 + length);
    this.handle(type, body);
    return 1 + length;
  }

  private handle(type: string, body: Buffer): void {
    if (type === 'Q') {
      for (const statement of splitStatements(cString(body, 0).text)) this.onStatement(statement);
    } else if (type === 'P') {
      const name = cString(body, 0);
      this.prepared.set(name.text, cString(body, name.next).text);
    } else if (type === 'B') {
      const portal = cString(body, 0);
      const statement = cString(body, portal.next);
      this.portals.set(portal.text, this.prepared.get(statement.text) ?? '');
    } else if (type === 'E') {
      const portal = cString(body, 0).text;
      this.onStatement(this.portals.get(portal) ?? '');
    } else if (type === 'C') {
      // Close: 'S' a prepared statement, 'P' a portal.
      const name = cString(body, 1).text;
      (body[0] === 0x53 ? this.prepared : this.portals).delete(name);
    }
  }
}

function cString(buffer: Buffer, offset: number): { text: string; next: number } {
  const end = buffer.indexOf(0, offset);
  const stop = end < 0 ? buffer.length : end;
  return { text: buffer.toString('utf8', offset, stop), next: stop + 1 };
}

/** A listening proxy to one PostgreSQL server; counts across all its connections. */
export class StatementProxy {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  private counts: StatementCounts = { statements: 0, transactionControl: 0, texts: [] };
  private recording = false;

  constructor(private readonly upstream: { host: string; port: number }) {}

  /** Listens on 127.0.0.1 (port 0: any free port) and answers the port. */
  async listen(port = 0): Promise<number> {
    const server = net.createServer((client) => this.connect(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return (server.address() as net.AddressInfo).port;
  }

  /** Starts a new window; with `record`, the counted texts are kept too (for a short run). */
  reset(record = false): void {
    this.counts = { statements: 0, transactionControl: 0, texts: [] };
    this.recording = record;
  }

  read(): StatementCounts {
    return { ...this.counts, texts: [...this.counts.texts] };
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private connect(client: net.Socket): void {
    const upstream = net.connect(this.upstream.port, this.upstream.host);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    this.sockets.add(client);
    this.sockets.add(upstream);
    const parser = new FrontendParser((sql) => this.count(sql));
    client.on('data', (chunk: Buffer) => {
      if (!upstream.write(chunk)) client.pause();
      parser.push(chunk);
    });
    upstream.on('drain', () => client.resume());
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  }

  private count(sql: string): void {
    if (isTransactionControl(sql)) {
      this.counts.transactionControl += 1;
      return;
    }
    this.counts.statements += 1;
    if (this.recording) this.counts.texts.push(sql);
  }
}
