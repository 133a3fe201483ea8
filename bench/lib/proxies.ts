/** The bench's side of proxy-host.ts: one counting proxy per server, by name. */
import path from 'node:path';
import type { StatementCounts } from '../pg-statement-proxy';
import { startScript, type Child } from './processes';

export type ProxyRequest = { id: number } & (
  | { op: 'start'; name: string; upstream: { host: string; port: number } }
  | { op: 'reset'; name: string; record: boolean }
  | { op: 'read'; name: string }
);

export type ProxyReply = { id: number; port?: number; counts?: StatementCounts; error?: string };

export class Proxies {
  private nextId = 1;
  private readonly waiting = new Map<number, (reply: ProxyReply) => void>();

  private constructor(private readonly child: Child) {
    child.process.on('message', (reply: ProxyReply) => {
      this.waiting.get(reply.id)?.(reply);
      this.waiting.delete(reply.id);
    });
  }

  static start(): Proxies {
    return new Proxies(startScript('statement proxies', path.join(__dirname, 'proxy-host.ts'), {}, true));
  }

  private ask(request: Omit<ProxyRequest, 'id'>): Promise<ProxyReply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, (reply) => (reply.error ? reject(new Error(reply.error)) : resolve(reply)));
      this.child.process.send({ ...request, id }, (error) => error && reject(error));
    });
  }

  /** Starts a proxy to PostgreSQL for one server and answers its port. */
  async start(name: string, upstream: { host: string; port: number }): Promise<number> {
    const reply = await this.ask({ op: 'start', name, upstream } as Omit<ProxyRequest, 'id'>);
    return reply.port as number;
  }

  async reset(name: string, record = false): Promise<void> {
    await this.ask({ op: 'reset', name, record } as Omit<ProxyRequest, 'id'>);
  }

  async read(name: string): Promise<StatementCounts> {
    const reply = await this.ask({ op: 'read', name } as Omit<ProxyRequest, 'id'>);
    if (!reply.counts) throw new Error(`no proxy named ${name}`);
    return reply.counts;
  }
}
