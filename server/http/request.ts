// What a client sent, turned into typed values or an ApiError: query values, whole numbers,
// and a bounded JSON body. Everything enters as a string or bytes; nothing here trusts a
// header's claim (a Content-Length may lie, a chunked body may never end).
import { MAX_BODY_BYTES } from '../../protocol/limits.js';
import { ApiError } from '../errors.js';
import type { Exchange } from './exchange.js';

const CHAR_0 = 48;
const CHAR_9 = 57;
const CHAR_DOT = 46;
// Enough for Number.MAX_SAFE_INTEGER (16 digits), and short enough that Number() stays cheap.
// A 16-digit value above it rounds to 2^53 or more, so the `<= max` check still refuses it.
const MAX_DIGITS = 16;

// How much of a client's value or path an error sentence repeats.
const SHOWN_VALUE_LENGTH = 20;
const SHOWN_PATH_LENGTH = 80;

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The first value of `name` in a raw query string, percent-decoded; undefined when absent. */
export function queryValue(query: string, name: string): string | undefined {
  if (query === '') return undefined;
  let start = 0;
  while (start <= query.length) {
    let end = query.indexOf('&', start);
    if (end === -1) end = query.length;
    const equals = query.indexOf('=', start);
    const keyEnd = equals !== -1 && equals < end ? equals : end;
    if (keyEnd - start === name.length && query.startsWith(name, start)) {
      const raw = keyEnd === end ? '' : query.slice(keyEnd + 1, end);
      return decodeQueryValue(raw, name);
    }
    start = end + 1;
  }
  return undefined;
}

function decodeQueryValue(raw: string, name: string): string {
  if (!raw.includes('%') && !raw.includes('+')) return raw;
  try {
    return decodeURIComponent(raw.replaceAll('+', ' '));
  } catch {
    throw new ApiError('BAD_REQUEST', `the value of "${name}" is not valid percent-encoding`);
  }
}

/** A whole number from `min` to `max`, or a 400 naming the parameter and the allowed range. */
export function parseWholeNumber(raw: string, name: string, min: number, max: number): number {
  let isDigits = raw.length > 0 && raw.length <= MAX_DIGITS;
  for (let i = 0; isDigits && i < raw.length; i++) {
    const char = raw.charCodeAt(i);
    isDigits = char >= CHAR_0 && char <= CHAR_9;
  }
  const value = isDigits ? Number(raw) : NaN;
  if (!(value >= min && value <= max)) {
    throw new ApiError('BAD_REQUEST', `${name} must be a whole number from ${min} to ${max.toLocaleString('en-US')}, not "${clip(raw)}"`);
  }
  return value;
}

/** A decimal number of seconds from 0 to `max` (`?wait=2.5`). */
export function parseSeconds(raw: string, name: string, max: number): number {
  let dots = 0;
  let isNumber = raw.length > 0 && raw.length <= MAX_DIGITS;
  for (let i = 0; isNumber && i < raw.length; i++) {
    const char = raw.charCodeAt(i);
    if (char === CHAR_DOT) dots++;
    else isNumber = char >= CHAR_0 && char <= CHAR_9;
  }
  const value = isNumber && dots <= 1 ? Number(raw) : NaN;
  if (!(value >= 0 && value <= max)) {
    throw new ApiError('BAD_REQUEST', `${name} must be a number of seconds from 0 to ${max}, not "${clip(raw)}"`);
  }
  return value;
}

/**
 * Reads the body as a JSON object. Refuses, in this order: no length (411), a declared or
 * actual size over the limit (413), a Content-Type other than JSON (415), bytes that are not
 * UTF-8 JSON (400 BAD_JSON), JSON that is not an object (400 BAD_REQUEST). A 413 is decided
 * without waiting for the rest of the body; sendError closes the connection once the client
 * stops sending it.
 */
export async function readJsonObject(exchange: Exchange, limit = MAX_BODY_BYTES): Promise<Record<string, unknown>> {
  const { req } = exchange;
  const declared = req.headers['content-length'];
  const isChunked = req.headers['transfer-encoding'] !== undefined;
  if (declared === undefined && !isChunked) {
    throw new ApiError('LENGTH_REQUIRED', 'this request needs a JSON body with a Content-Length header');
  }
  if (declared !== undefined && Number(declared) > limit) {
    throw new ApiError('BODY_TOO_LARGE', `the body is ${Number(declared).toLocaleString('en-US')} bytes; the limit is ${bytes(limit)}`);
  }
  if (!isJsonType(req.headers['content-type'])) {
    throw new ApiError('UNSUPPORTED_MEDIA_TYPE', 'send the body as JSON with the header Content-Type: application/json');
  }
  const body = await readBody(exchange, limit);
  // Chunked: the size is known only to be past the limit.
  if (body === null) throw new ApiError('BODY_TOO_LARGE', `the body is more than ${bytes(limit)}, the limit`);
  let text: string;
  try {
    text = UTF8.decode(body);
  } catch {
    throw new ApiError('BAD_JSON', 'the body is not valid UTF-8; send JSON text encoded as UTF-8');
  }
  if (text.trim() === '') throw new ApiError('BAD_JSON', 'the body is empty; send a JSON object');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ApiError('BAD_JSON', `the body is not valid JSON (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ApiError('BAD_REQUEST', 'the body must be a JSON object, like {"text": "hello"}');
  }
  return value as Record<string, unknown>;
}

function bytes(limit: number): string {
  return `${limit.toLocaleString('en-US')} bytes (${limit / 1024} KiB)`;
}

// application/json or any structured +json type, with or without parameters (charset).
function isJsonType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const semicolon = header.indexOf(';');
  const type = (semicolon === -1 ? header : header.slice(0, semicolon)).trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/** The whole body, or null as soon as it passes `limit` bytes (the rest is left unread). */
function readBody(exchange: Exchange, limit: number): Promise<Buffer | null> {
  const { req } = exchange;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('close', onAbort);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    // The client went away mid-body: nobody is left to answer, but the handler must stop.
    const onAbort = () => {
      cleanup();
      reject(new ApiError('BAD_REQUEST', 'the request body ended early'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('close', onAbort);
  });
}

/**
 * A request path as an error sentence quotes it: a path may run to the 16 KiB header limit,
 * and echoing all of it only makes the answer and the log larger.
 */
export function shownPath(path: string): string {
  return clip(path, SHOWN_PATH_LENGTH);
}

function clip(raw: string, length = SHOWN_VALUE_LENGTH): string {
  return raw.length > length ? `${raw.slice(0, length)}…` : raw;
}
