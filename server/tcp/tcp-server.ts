// The TCP edge on port 8783: accepts connections, enforces the connection limit, ends the
// connections of a session that ended anywhere, and shuts down gracefully (goodbye frames after
// in-flight requests are answered).
import { createServer, type Server } from 'node:net';
import { encodeFrame } from '../../protocol/frame-decoder.js';
import type { ErrorReply } from '../../protocol/tcp-frames.js';
import type { Chat } from '../chat/chat.js';
import type { ClientCounts } from '../ops/client-counts.js';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import { Connection } from './connection.js';
import { SessionConnections } from './session-connections.js';
import { SubscriberHub } from './subscribers.js';

/** How long clients get to read their last replies and the goodbye before they are dropped. */
const SHUTDOWN_GRACE_MS = 5000;
/** How long a refused client gets to read why before its socket is dropped. */
const REFUSAL_GRACE_MS = 2000;

export interface TcpDeps {
  chat: Chat;
  logger: Logger;
  metrics: Metrics | null;
  clients: ClientCounts;
  maxClients: number;
  frameTimeoutMs: number;
  /** The index of logged-in connections; a new one when not given (a test passes its own to look inside). */
  sessions?: SessionConnections;
}

export interface TcpEdge {
  server: Server;
  /** Stops accepting, answers requests in flight, says goodbye to every client. */
  shutdown(reason: string, retryAfter: number): Promise<void>;
}

export function createTcpEdge(deps: TcpDeps): TcpEdge {
  const hub = new SubscriberHub(deps.chat);
  const sessions = deps.sessions ?? new SessionConnections();
  const stopEndingSessions = deps.chat.onSessionEnded((hash) => sessions.end(hash));
  const connections = new Set<Connection>();

  const server = createServer({ noDelay: true, keepAlive: true, allowHalfOpen: true }, (socket) => {
    const total = Object.values(deps.clients.snapshot()).reduce((a, b) => a + b, 0);
    if (total >= deps.maxClients) {
      const refusal: ErrorReply = {
        id: null,
        ok: false,
        error: { code: 'TOO_MANY_CONNECTIONS', message: 'the server is at its connection limit; try again later', retryAfter: 30 },
      };
      socket.on('error', () => {});
      socket.end(encodeFrame(refusal));
      // A client that never closes its side must not keep the socket: it is over the limit.
      setTimeout(() => socket.destroy(), REFUSAL_GRACE_MS).unref();
      return;
    }
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    const connection = new Connection(socket, {
      chat: deps.chat,
      hub,
      sessions,
      logger: deps.logger,
      metrics: deps.metrics,
      frameTimeoutMs: deps.frameTimeoutMs,
    });
    connections.add(connection);
    deps.clients.opened('tcp');
    deps.logger.info('tcp-connect', { remote });
    socket.once('close', () => {
      connections.delete(connection);
      deps.clients.closed('tcp');
      deps.logger.info('tcp-disconnect', { remote, user: connection.username });
    });
  });

  return {
    server,
    async shutdown(reason, retryAfter) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // A client that reads nothing (its last replies wait for room) or never closes its side
      // must not hold the shutdown.
      const force = setTimeout(() => connections.forEach((c) => c.destroy()), SHUTDOWN_GRACE_MS);
      await Promise.allSettled([...connections].map((c) => c.goodbye(reason, retryAfter)));
      await closed;
      clearTimeout(force);
      stopEndingSessions();
      hub.close();
    },
  };
}
