// Every answer the edge writes goes through here: the security headers every response carries,
// JSON and error bodies, and the access record. Headers are passed to writeHead as one flat
// array built from constant prefixes, so the hot path never calls setHeader.
import { ApiError, toApiError } from '../errors.js';
import type { Logger } from '../ops/logger.js';
import type { Exchange } from './exchange.js';

// No inline script or style can run, nothing loads from elsewhere, and no other site may frame
// the page (issue 3: "a strict Content-Security-Policy"). `img-src data:` allows CSS-embedded
// icons, which cannot execute.
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export const SECURITY_HEADERS: readonly string[] = [
  'Content-Security-Policy', CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options', 'nosniff',
  'Referrer-Policy', 'no-referrer',
  'X-Frame-Options', 'DENY',
];

// A JSON answer is never a page, so it gets a policy that allows nothing at all: stricter
// than the page's in every directive, and a third of its size on the hot polling path.
export const API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export const API_SECURITY_HEADERS: readonly string[] = [
  'Content-Security-Policy', API_CONTENT_SECURITY_POLICY,
  ...SECURITY_HEADERS.slice(2),
];

// API answers depend on the session cookie, so no cache may keep them.
const JSON_HEADERS: readonly string[] = [
  'Content-Type', 'application/json; charset=utf-8',
  'Cache-Control', 'no-store',
  ...API_SECURITY_HEADERS,
];

const NO_CONTENT_HEADERS: readonly string[] = ['Cache-Control', 'no-store', ...API_SECURITY_HEADERS];

// An answer that closes the connection while the request body is still arriving waits, after
// the answer is out, until the client stops sending: closing a socket with unread bytes makes
// the kernel reset it, and a reset can destroy the answer before the client reads it (the
// "lingering close" of Apache and nginx). It stops waiting after this long or this many bytes.
const LINGER_MS = 2000;
const LINGER_BYTES = 1024 * 1024;

/** Answers with a JSON body already serialised (string or cached Buffer). */
export function sendJson(exchange: Exchange, status: number, body: string | Buffer, extra?: readonly string[]): void {
  const length = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  let headers = JSON_HEADERS.concat('Content-Length', String(length));
  if (extra !== undefined) headers = headers.concat(extra);
  if (exchange.corsOrigin !== undefined) headers = headers.concat(corsHeaders(exchange.corsOrigin));
  exchange.res.writeHead(status, headers);
  exchange.res.end(body);
  exchange.recordAnswer(status);
}

/** Answers with a non-JSON body (Prometheus text). */
export function sendText(exchange: Exchange, status: number, contentType: string, body: string): void {
  const headers = ['Content-Type', contentType, 'Cache-Control', 'no-store', 'Content-Length', String(Buffer.byteLength(body))];
  exchange.res.writeHead(status, headers.concat(API_SECURITY_HEADERS));
  exchange.res.end(body);
  exchange.recordAnswer(status);
}

export function sendNoContent(exchange: Exchange, extra?: readonly string[]): void {
  let headers = NO_CONTENT_HEADERS.slice();
  if (extra !== undefined) headers = headers.concat(extra);
  if (exchange.corsOrigin !== undefined) headers = headers.concat(corsHeaders(exchange.corsOrigin));
  exchange.res.writeHead(204, headers);
  exchange.res.end();
  exchange.recordAnswer(204);
}

export function sendError(exchange: Exchange, error: ApiError, extra: readonly string[] = []): void {
  const headers = extra.slice();
  if (error.details.retryAfter !== undefined) headers.push('Retry-After', String(Math.ceil(error.details.retryAfter)));
  if (error.details.allow !== undefined) headers.push('Allow', error.details.allow.join(', '));
  // The request body may still be arriving (a 413 answered from Content-Length alone), or bytes
  // without a length may follow (411); closing is the only way not to read them, and the
  // client must not reuse a connection in that state.
  if (error.code === 'BODY_TOO_LARGE' || error.code === 'LENGTH_REQUIRED') {
    headers.push('Connection', 'close');
    if (!exchange.req.complete) {
      sendJsonThenClose(exchange, error.status, JSON.stringify(error.toBody()), headers);
      return;
    }
  }
  sendJson(exchange, error.status, JSON.stringify(error.toBody()), headers);
}

/** See LINGER_MS. */
function sendJsonThenClose(exchange: Exchange, status: number, body: string, extra: readonly string[]): void {
  const { req, res } = exchange;
  let headers = JSON_HEADERS.concat('Content-Length', String(Buffer.byteLength(body)), extra);
  if (exchange.corsOrigin !== undefined) headers = headers.concat(corsHeaders(exchange.corsOrigin));
  res.writeHead(status, headers);
  // write, not end: node:http closes a Connection: close socket as soon as its answer ends.
  res.write(body);
  exchange.recordAnswer(status);
  let dropped = 0;
  const close = () => {
    clearTimeout(timer);
    req.off('data', onData);
    req.off('end', close);
    req.off('close', close);
    res.end();
  };
  const onData = (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > LINGER_BYTES) close();
  };
  const timer = setTimeout(close, LINGER_MS);
  req.on('data', onData);
  req.on('end', close);
  req.on('close', close);
}

/**
 * The one place a thrown value becomes an answer: an ApiError is answered as itself; anything
 * else is a bug, logged with its stack and answered as a 500 that reveals nothing. A stream
 * whose headers are already out can only be cut.
 */
export function answerThrown(exchange: Exchange, thrown: unknown, logger: Logger): void {
  const { error, isBug } = toApiError(thrown);
  if (isBug) {
    logger.error('http-request-failed', { method: exchange.method, path: exchange.path, error: thrown });
  }
  if (exchange.res.headersSent) {
    exchange.res.destroy();
    exchange.recordAnswer(exchange.res.statusCode);
    return;
  }
  if (exchange.res.destroyed) {
    exchange.recordAnswer(error.status);
    return;
  }
  sendError(exchange, error);
}

/** An allowed other origin (config.allowedOrigins) may read answers and send the cookie. */
export function corsHeaders(origin: string): string[] {
  return ['Access-Control-Allow-Origin', origin, 'Access-Control-Allow-Credentials', 'true', 'Vary', 'Origin'];
}
