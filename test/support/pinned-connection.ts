import { readdir, readFile, readlink } from 'node:fs/promises';
import http from 'node:http';

export type Answer = { status: number; headers: http.IncomingHttpHeaders; body: any };

/**
 * One kept-alive TCP connection to a gateway, every request on it: under node:cluster each
 * connection is handed to one worker, so all of them reach the same process. Throws if the
 * connection was replaced (a request after the server closed it would land anywhere).
 */
export class PinnedConnection {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  /** The client end's port, fixed by the first request. */
  localPort: number | null = null;

  constructor(
    private readonly port: number,
    private readonly options: { localAddress?: string } = {},
  ) {}

  graphql(query: string, variables: Record<string, unknown> = {}, token?: string): Promise<Answer> {
    return this.request('POST', '/graphql', JSON.stringify({ query, variables }), {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    });
  }

  request(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: this.port,
          method,
          path,
          headers,
          agent: this.agent,
          localAddress: this.options.localAddress,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
          res.on('end', () => {
            const json = (res.headers['content-type'] ?? '').includes('json');
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: json ? JSON.parse(text) : text });
          });
          res.on('error', reject);
        },
      );
      req.on('socket', (socket) => {
        const pin = () => {
          if (this.localPort === null) this.localPort = socket.localPort ?? null;
          else if (socket.localPort !== this.localPort) {
            req.destroy(new Error(`the pinned connection (port ${this.localPort}) was replaced`));
          }
        };
        if (socket.localPort) pin();
        else socket.once('connect', pin);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Hex as in /proc/net/tcp: the port in big-endian hex, four digits. */
function hexPort(port: number): string {
  return port.toString(16).toUpperCase().padStart(4, '0');
}

/**
 * The process among `pids` that holds the server end of the loopback TCP connection from client
 * port `clientPort` to `serverPort`: the connection's socket inode from /proc/net/tcp, then the
 * process with a file descriptor on it (Linux only; the tests run as root, so every /proc/<pid>/fd
 * is readable).
 */
export async function serverProcessOf(serverPort: number, clientPort: number, pids: number[]): Promise<number | null> {
  const table = await readFile('/proc/net/tcp', 'utf8');
  const row = table
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .find(
      ([, local, remote, state]) =>
        local?.endsWith(`:${hexPort(serverPort)}`) && remote?.endsWith(`:${hexPort(clientPort)}`) && state === '01',
    );
  if (!row) return null;
  const socket = `socket:[${row[9]}]`;
  for (const pid of pids) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      if ((await readlink(`/proc/${pid}/fd/${fd}`).catch(() => null)) === socket) return pid;
    }
  }
  return null;
}
