// A listener for /metrics alone (--metrics-port), so Prometheus can scrape from a private
// network while the chat port faces users. Same timeouts and broken-request answers as the
// chat port (connection-rules.ts).
import { createServer, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Config } from '../config.js';
import { ApiError } from '../errors.js';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import { answerClientError, serverOptions, timeoutsOf } from './connection-rules.js';
import { Exchange, type RequestRecorder } from './exchange.js';
import { answerThrown, sendError } from './respond.js';
import { answerMetrics } from './routes/metrics.js';

const UNRECORDED: RequestRecorder = { record() {} };

export function createMetricsServer(metrics: Metrics, logger: Logger, config: Pick<Config, 'requestTimeoutMs' | 'keepAliveTimeoutMs'>): Server {
  const timeouts = timeoutsOf(config);
  const server = createServer(serverOptions(timeouts), (req, res) => {
    const exchange = new Exchange(req, res, UNRECORDED);
    if (exchange.path !== '/metrics') {
      sendError(exchange, new ApiError('NOT_FOUND', 'this port serves /metrics only'));
      return;
    }
    if (exchange.method !== 'GET' && exchange.method !== 'HEAD') {
      sendError(exchange, new ApiError('METHOD_NOT_ALLOWED', `${exchange.method} is not allowed here; use GET`, { allow: ['GET', 'HEAD'] }));
      return;
    }
    answerMetrics(exchange, metrics).catch((error: unknown) => answerThrown(exchange, error, logger));
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => answerClientError(error, socket, logger, timeouts));
  return server;
}
