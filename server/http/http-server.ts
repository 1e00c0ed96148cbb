// The HTTP edge on port 8784: the node:http server, the checks every request passes before its
// route (origin, method), the one place thrown errors are answered, broken requests answered
// before they reach a route, and graceful shutdown. server/main.ts calls createHttpEdge and
// listens; everything else about HTTP lives in this folder.
//
// Reads are answered on the primary thread from the shared-memory ring and a per-cursor cache
// (change-answers.ts); only writes reach the worker pool, batched by the chat. Issue 6 measured
// a pool hop per tiny request at half the throughput of answering inline.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Chat } from '../chat/chat.js';
import type { Config } from '../config.js';
import { ApiError } from '../errors.js';
import type { ClientCounts } from '../ops/client-counts.js';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import { AccessLog } from './access-log.js';
import { ChangeAnswers } from './change-answers.js';
import type { Edge } from './edge.js';
import { Exchange } from './exchange.js';
import { LiveFeed } from './live-feed.js';
import { answerClientError, serverOptions, timeoutsOf } from './connection-rules.js';
import { checkOrigin } from './origin-check.js';
import { shownPath } from './request.js';
import { answerThrown, sendError, sendNoContent } from './respond.js';
import { findRoute, type Route } from './router.js';
import { StaticFiles } from './static-files.js';

export { createMetricsServer } from './metrics-server.js';

export interface HttpDeps {
  chat: Chat;
  config: Config;
  logger: Logger;
  /** null when metrics are off; /metrics is served here only when config.metricsPort === null. */
  metrics: Metrics | null;
  /** SSE and long-poll clients are counted here; all transports together are capped at config.maxClients. */
  clients: ClientCounts;
}

export interface HttpEdge {
  /** Not yet listening: main calls listen. */
  server: Server;
  /**
   * Graceful shutdown: stop accepting, answer in-flight requests, end long-polls with their
   * current (empty) answer, send SSE clients `retry:` and a final `goodbye` event and end them,
   * close idle keep-alive connections; resolves when every connection is closed.
   */
  shutdown(): Promise<void>;
}

/** After this long in shutdown, connections still open are closed regardless. */
const SHUTDOWN_GRACE_MS = 3_000;
/** How often idle connections are closed during shutdown (in-flight ones become idle). */
const SHUTDOWN_SWEEP_MS = 50;
/** How long a browser may cache a CORS preflight answer. */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

export function createHttpEdge(deps: HttpDeps): HttpEdge {
  const { chat, config, logger } = deps;
  const accessLog = new AccessLog(logger, deps.metrics);
  const feed = new LiveFeed(chat, config.sseHeartbeatMs);
  const edge: Edge = {
    ...deps,
    feed,
    answers: new ChangeAnswers(chat),
    files: new StaticFiles(config.webRoot, logger),
    isShuttingDown: false,
  };

  const timeouts = timeoutsOf(config);
  const server = createServer(serverOptions(timeouts), (req, res) => handle(req, res));
  // Its own cap, above config.maxClients (config.ts): at the client cap a new stream must still
  // reach its route to be answered 503 with Retry-After, and health checks and logins, which
  // hold no client slot, must still be served. Past this cap node:http drops the connection.
  server.maxConnections = config.maxHttpConnections;
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => answerClientError(error, socket, logger, timeouts));

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const exchange = new Exchange(req, res, accessLog);
    if (edge.isShuttingDown) res.shouldKeepAlive = false;
    const route = findRoute(exchange.path);
    exchange.route = route.pattern;
    if (!isOriginAccepted(exchange, config.allowedOrigins)) {
      sendError(exchange, new ApiError('CROSS_ORIGIN', 'requests from another site are refused; use Parley from its own address'));
      return;
    }
    const handler = route.methods[exchange.method];
    if (handler === undefined) {
      answerUnroutable(exchange, route);
      return;
    }
    try {
      const pending = handler(exchange, edge);
      if (pending !== undefined) pending.catch((error: unknown) => answerThrown(exchange, error, logger));
    } catch (error) {
      answerThrown(exchange, error, logger);
    }
  }

  let shuttingDown: Promise<void> | null = null;
  function shutdown(): Promise<void> {
    shuttingDown ??= new Promise<void>((resolve) => {
      edge.isShuttingDown = true;
      let sweeper: NodeJS.Timeout | undefined;
      let deadline: NodeJS.Timeout | undefined;
      server.close(() => {
        clearInterval(sweeper);
        clearTimeout(deadline);
        resolve();
      });
      feed.endAll('shutdown');
      feed.close();
      // Node closes the connections idle at close() time; those busy now become idle later.
      sweeper = setInterval(() => server.closeIdleConnections(), SHUTDOWN_SWEEP_MS);
      deadline = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      deadline.unref();
    });
    return shuttingDown;
  }

  return { server, shutdown };
}

/**
 * Cross-site request refusal (origin-check.ts) for state-changing methods. An allowed other
 * origin is remembered so the answer carries CORS headers; reads are not refused (a browser
 * does not let another site read them without those headers anyway).
 */
function isOriginAccepted(exchange: Exchange, allowedOrigins: readonly string[]): boolean {
  const origin = exchange.req.headers.origin;
  if (origin === undefined) return true;
  const verdict = checkOrigin(origin, exchange.req.headers.host, allowedOrigins);
  if (verdict === 'allowed') exchange.corsOrigin = origin;
  if (exchange.method === 'GET' || exchange.method === 'HEAD') return true;
  return verdict !== 'foreign';
}

function answerUnroutable(exchange: Exchange, route: Route): void {
  if (route.allow.length === 0) {
    sendError(exchange, new ApiError('NOT_FOUND', `there is no API endpoint ${shownPath(exchange.path)}; see docs/api.md`));
    return;
  }
  if (exchange.method === 'OPTIONS' && route.isApi && exchange.corsOrigin !== undefined) {
    // A preflight from an allowed origin (config.allowedOrigins) before a JSON POST or DELETE.
    sendNoContent(exchange, [
      'Access-Control-Allow-Methods', route.allow.join(', '),
      'Access-Control-Allow-Headers', 'Content-Type, Last-Event-ID',
      'Access-Control-Max-Age', String(PREFLIGHT_MAX_AGE_SECONDS),
    ]);
    return;
  }
  const allowed = route.allow.join(', ');
  sendError(exchange, new ApiError('METHOD_NOT_ALLOWED', `${exchange.method} is not allowed on ${route.pattern === 'static' ? 'web pages' : route.pattern}; use ${allowed}`, {
    allow: route.allow,
  }));
}
