// GET /metrics in Prometheus text format, on the HTTP port when no separate metrics port is
// configured (config.metricsPort === null); see metrics-server.ts for the separate listener.
import type { Metrics } from '../../ops/metrics.js';
import { ApiError } from '../../errors.js';
import type { Exchange } from '../exchange.js';
import type { Edge } from '../edge.js';
import { sendText } from '../respond.js';

export async function getMetrics(exchange: Exchange, edge: Edge): Promise<void> {
  if (edge.metrics === null || edge.config.metricsPort !== null) {
    throw new ApiError('NOT_FOUND', 'metrics are not served on this port (see --metrics-port)');
  }
  await answerMetrics(exchange, edge.metrics);
}

export async function answerMetrics(exchange: Exchange, metrics: Metrics): Promise<void> {
  const { contentType, body } = await metrics.render();
  sendText(exchange, 200, contentType, body);
}
