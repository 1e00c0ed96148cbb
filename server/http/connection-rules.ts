// What every HTTP connection lives by, on the chat port and the metrics port alike: the
// timeouts that keep a slowloris client from tying up the server (issue 3), and the answer to
// a request node:http could not parse.
import { STATUS_CODES, type ServerOptions } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Config } from '../config.js';
import { ApiError } from '../errors.js';
import type { Logger } from '../ops/logger.js';
import { API_SECURITY_HEADERS } from './respond.js';

export interface HttpTimeouts {
  /** The request line and headers must arrive within this... */
  headersMs: number;
  /** ...and the whole request, body included, within this. */
  requestMs: number;
  /** An idle keep-alive connection closes after this. */
  keepAliveMs: number;
}

// Headers are a few hundred bytes: a client that needs longer is not sending a request. Never
// more than the whole request's time, which node:http requires and which is the promise anyway.
const HEADERS_TIMEOUT_MS = 10_000;
/**
 * How often node:http checks the header and request deadlines, so a deadline is enforced up
 * to this late.
 */
const CHECK_INTERVAL_MS = 1_000;

export function timeoutsOf(config: Pick<Config, 'requestTimeoutMs' | 'keepAliveTimeoutMs'>): HttpTimeouts {
  return {
    headersMs: Math.min(HEADERS_TIMEOUT_MS, config.requestTimeoutMs),
    requestMs: config.requestTimeoutMs,
    keepAliveMs: config.keepAliveTimeoutMs,
  };
}

/**
 * The deadlines end once a request is read, so long-polls and SSE streams are unaffected by
 * them.
 */
export function serverOptions(timeouts: HttpTimeouts): ServerOptions {
  return {
    keepAliveTimeout: timeouts.keepAliveMs,
    headersTimeout: timeouts.headersMs,
    requestTimeout: timeouts.requestMs,
    connectionsCheckingInterval: Math.min(CHECK_INTERVAL_MS, timeouts.headersMs),
  };
}

/**
 * Requests node:http could not parse never reach a route (STYLE.md section 4): they get a
 * short JSON answer and the connection is closed, since the stream cannot be trusted after a
 * framing error. Timeouts are 408, oversized headers 431, the rest 400.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex, logger: Logger, timeouts: HttpTimeouts): void {
  const inProgress = (socket as Duplex & { _httpMessage?: { headersSent: boolean } | null })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || (inProgress != null && inProgress.headersSent)) {
    socket.destroy();
    return;
  }
  let status = 400;
  let body: ApiError;
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = 408;
    body = new ApiError(
      'IDLE_TIMEOUT',
      `the request did not arrive in time (headers within ${seconds(timeouts.headersMs)}, the whole request within ${seconds(timeouts.requestMs)})`,
    );
  } else if (error.code === 'HPE_HEADER_OVERFLOW') {
    status = 431;
    body = new ApiError('BAD_REQUEST', 'the request headers are too large; the limit is 16 KiB');
  } else {
    body = new ApiError('BAD_REQUEST', 'the request is not valid HTTP/1.1');
  }
  logger.info('http-client-error', { status, reason: error.code ?? error.message });
  const json = JSON.stringify(body.toBody());
  const head = [`HTTP/1.1 ${status} ${STATUS_CODES[status]}`, 'Content-Type: application/json; charset=utf-8', `Content-Length: ${Buffer.byteLength(json)}`, 'Connection: close'];
  for (let i = 0; i < API_SECURITY_HEADERS.length; i += 2) head.push(`${API_SECURITY_HEADERS[i]}: ${API_SECURITY_HEADERS[i + 1]}`);
  socket.end(`${head.join('\r\n')}\r\n\r\n${json}`);
}

function seconds(ms: number): string {
  return `${ms / 1000} s`;
}
