// GET /api/health for load balancers: 200 when the store and its workers answer and it can
// write, 503 when not or when the server is shutting down (so a balancer drains it first). Every 503 carries
// Retry-After (server/errors.ts).
import { ApiError } from '../../errors.js';
import type { Exchange } from '../exchange.js';
import type { Edge } from '../edge.js';
import { sendJson } from '../respond.js';

/** A check slower than this counts as a failure: a balancer must not hang on it. */
const CHECK_TIMEOUT_MS = 2000;
const HEALTHY = '{"status":"ok"}';

export async function getHealth(exchange: Exchange, edge: Edge): Promise<void> {
  if (edge.isShuttingDown) {
    throw new ApiError('SHUTTING_DOWN', 'the server is shutting down');
  }
  if (!(await isHealthyWithin(edge, CHECK_TIMEOUT_MS))) {
    throw new ApiError('UNAVAILABLE', 'the message store cannot serve (not answering, or cannot write to disk); see chat.log');
  }
  sendJson(exchange, 200, HEALTHY);
}

async function isHealthyWithin(edge: Edge, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([edge.chat.isHealthy().catch(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
