// A listener for /metrics alone (--metrics-port), so Prometheus can scrape from a private
// network while the chat port faces users.
import { createServer, type Server } from 'node:http';
import { ApiError } from '../errors.js';
import type { Metrics } from '../ops/metrics.js';
import { Exchange, type RequestRecorder } from './exchange.js';
import { answerMetrics } from './routes/metrics.js';
import { answerThrown, sendError } from './respond.js';
import type { Logger } from '../ops/logger.js';

const UNRECORDED: RequestRecorder = { record() {} };
const SILENT: Logger = { info() {}, warn() {}, error() {}, isWriting: false, access() {}, reopen() {}, close() {} };

export function createMetricsServer(metrics: Metrics, logger: Logger = SILENT): Server {
  const server = createServer({ keepAliveTimeout: 5000, headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
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
  server.on('clientError', (_error, socket) => socket.destroy());
  return server;
}
