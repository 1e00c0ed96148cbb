// GET /api/events: the Server-Sent Events stream (sse-stream.ts). The stream starts after the
// client's cursor: Last-Event-ID when EventSource reconnects (it repeats the original URL, so
// the header must win over ?last=), else ?last=, else the newest cursor (live only).
import { hashToken } from '../../chat/session-token.js';
import { ApiError } from '../../errors.js';
import type { Exchange } from '../exchange.js';
import { hasRoomForClient, type Edge } from '../edge.js';
import { parseWholeNumber, queryValue } from '../request.js';
import { requireSession } from '../session-cookie.js';
import { SseStream, streamHeaders } from '../sse-stream.js';

export async function getEvents(exchange: Exchange, edge: Edge): Promise<void> {
  const session = await requireSession(exchange, edge.chat);
  const cursor = startCursor(exchange, edge);
  if (edge.isShuttingDown) {
    throw new ApiError('SHUTTING_DOWN', 'the server is shutting down; reconnect in a few seconds');
  }
  if (!hasRoomForClient(edge)) {
    throw new ApiError('TOO_MANY_CONNECTIONS', `the server has its maximum of ${edge.config.maxClients} clients; try again shortly`);
  }
  new SseStream(exchange, hashToken(session.token), cursor, edge).start();
}

/** HEAD: the headers a GET would start the stream with (RFC 9110 section 9.3.2), no stream. */
export async function headEvents(exchange: Exchange, edge: Edge): Promise<void> {
  await requireSession(exchange, edge.chat);
  startCursor(exchange, edge);
  exchange.res.writeHead(200, streamHeaders(exchange.corsOrigin));
  exchange.res.end();
  exchange.recordAnswer(200);
}

function startCursor(exchange: Exchange, edge: Edge): number {
  const header = exchange.req.headers['last-event-id'];
  if (typeof header === 'string' && header.trim() !== '') {
    return parseWholeNumber(header.trim(), 'Last-Event-ID', 0, Number.MAX_SAFE_INTEGER);
  }
  const last = queryValue(exchange.query, 'last');
  if (last !== undefined) return parseWholeNumber(last, 'last', 0, Number.MAX_SAFE_INTEGER);
  return edge.chat.cursor;
}
