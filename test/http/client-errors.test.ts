import { connect } from 'node:net';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

/**
 * Requests Node's HTTP parser refuses before any route sees them still get the security headers,
 * a request id and the GraphQL error shape, like every other answer.
 */

let server: TestGateway;

beforeAll(async () => {
  server = await startTestGateway();
});

afterAll(async () => {
  await server.close();
});

/** Writes raw bytes and reads everything the gateway answers until it closes the connection. */
function exchange(raw: string): Promise<string> {
  const { port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    let answer = '';
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(raw));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

function parse(answer: string) {
  const [head, body] = answer.split('\r\n\r\n');
  const [statusLine, ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(
    lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
  );
  return { status: Number(statusLine.split(' ')[1]), headers, body: JSON.parse(body) };
}

it.each([
  ['a malformed request line', 'GARBAGE\r\n\r\n', 400],
  ['a malformed header', 'GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n', 400],
  [
    'Content-Length with Transfer-Encoding',
    'POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    400,
  ],
  ['headers larger than the limit', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
])('answers %s with the usual headers and error shape', async (_name, raw, status) => {
  const answer = parse(await exchange(raw));
  expect(answer.status).toBe(status);
  expect(answer.headers).toMatchObject({
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'x-request-id': expect.stringMatching(/^[0-9a-f-]{36}$/),
    connection: 'close',
  });
  expect(answer.body.errors[0].extensions).toMatchObject({
    code: 'BAD_USER_INPUT',
    requestId: answer.headers['x-request-id'],
  });
});
