import type { IncomingMessage, ServerResponse } from 'node:http';
import net from 'node:net';
import type { FastifyInstance } from 'fastify';

/**
 * How long open keep-alive connections may still send a request after closing began: a client
 * sending steadily does so within milliseconds and is answered with Connection: close.
 */
const KEEP_ALIVE_DRAIN_MS = 1_000;

export type CloseResult = {
  /** True when every connection ended on its own within the grace period; false when some were cut. */
  drained: boolean;
};

/**
 * Closing without refusing what was accepted: the server stops accepting connections, and idle
 * keep-alive ones end after a short drain (below); every response sent from then on (for a request in flight, or
 * one that arrives on a connection still open) carries `Connection: close`, so each connection
 * ends after its current exchange instead of being served on. Connections still open after the
 * grace period are destroyed.
 *
 * Fastify's `return503OnClosing` is off: it answers 503 to a request arriving on a kept-alive
 * connection after close, which a client cannot tell from a failure; here it is served instead.
 */
export function trackConnectionsForClose(app: FastifyInstance) {
  const inFlight = new Set<ServerResponse>();
  let closing = false;
  // A response already streaming when closing began cannot change its headers; once it ends its
  // connection is idle and is ended like the others.
  const endIdleConnections = () => app.server.closeIdleConnections();

  // Every connection, and how many requests it is answering: Node counts a connection that has
  // not sent a whole request (a preconnect, a TCP health check, a scan) as neither idle nor busy.
  const sockets = new Set<net.Socket>();
  const answering = new WeakMap<net.Socket, number>();
  app.server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  // Ahead of Fastify's own listener, so that every response is covered, a router refusal included.
  app.server.prependListener('request', (request: IncomingMessage, response: ServerResponse) => {
    if (closing) response.setHeader('connection', 'close');
    inFlight.add(response);
    const socket = request.socket;
    answering.set(socket, (answering.get(socket) ?? 0) + 1);
    response.once('close', () => {
      inFlight.delete(response);
      answering.set(socket, (answering.get(socket) ?? 1) - 1);
    });
  });

  return async function close(graceMs: number): Promise<CloseResult> {
    closing = true;
    for (const response of inFlight) {
      if (response.headersSent) response.once('finish', endIdleConnections);
      else response.setHeader('connection', 'close');
    }
    // Stop accepting at once, but keep the open keep-alive connections a moment: a request a
    // client has already written on one (or writes now) is then answered, with Connection: close,
    // rather than met by a reset. Node's own close would end them at once.
    net.Server.prototype.close.call(app.server);
    const drainEnds = Date.now() + Math.min(KEEP_ALIVE_DRAIN_MS, graceMs);
    while (sockets.size > 0 && Date.now() < drainEnds) await new Promise((resolve) => setTimeout(resolve, 20));
    for (const socket of sockets) if (!answering.get(socket)) socket.destroy();
    let drained = true;
    const deadline = setTimeout(() => {
      drained = false;
      app.server.closeAllConnections();
    }, graceMs);
    try {
      await app.close();
    } finally {
      clearTimeout(deadline);
    }
    return { drained };
  };
}
