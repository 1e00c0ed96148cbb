// Turns one line from the server into a typed frame. Pure, and the only place where the
// client trusts the wire: everything below this works with ServerFrame, not `unknown`.
import { ERROR_CODES, type ErrorCode } from '../../protocol/error-codes.js';
import type { ChatMessage } from '../../protocol/message.js';
import type { ErrorReply, Push, Reply, ServerFrame } from '../../protocol/tcp-frames.js';

export type ParsedFrame =
  | { ok: true; frame: ServerFrame }
  /** An event this client does not know: a newer server may add some, and an older client
   *  carries on without them rather than disconnecting. */
  | { ok: true; frame: undefined }
  | { ok: false; message: string };

const KNOWN_EVENTS: ReadonlySet<string> = new Set<Push['event']>(['hello', 'message', 'delete', 'goodbye', 'session-ended']);

type Fields = Record<string, unknown>;

const KNOWN_CODES: ReadonlySet<string> = new Set(ERROR_CODES);

export function parseServerFrame(line: string): ParsedFrame {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return bad(`the server sent a line that is not JSON: ${preview(line)}`);
  }
  if (!isObject(value)) return bad(`the server sent a frame that is not an object: ${preview(line)}`);
  if (typeof value.event === 'string') {
    if (!KNOWN_EVENTS.has(value.event)) return { ok: true, frame: undefined };
    const push = parsePush(value);
    return push ? { ok: true, frame: push } : bad(`the server sent a malformed "${value.event}" event`);
  }
  if (typeof value.ok === 'boolean' && (isRequestId(value.id) || value.id === null)) {
    const reply = value.ok ? (value as Reply) : parseErrorReply(value);
    return reply ? { ok: true, frame: reply } : bad('the server sent a malformed error reply');
  }
  return bad(`the server sent a frame that is neither a reply nor an event: ${preview(line)}`);
}

export function isChatMessage(value: unknown): value is ChatMessage {
  return (
    isObject(value) &&
    Number.isSafeInteger(value.id) &&
    typeof value.user === 'string' &&
    typeof value.text === 'string' &&
    typeof value.time === 'string'
  );
}

function parsePush(value: Fields): Push | undefined {
  switch (value.event) {
    case 'hello':
      return value.server === 'parley' ? (value as Push) : undefined;
    case 'message':
      return isCursor(value.cursor) && isChatMessage(value.message) ? (value as Push) : undefined;
    case 'delete':
      return isCursor(value.cursor) && isCursor(value.id) ? (value as Push) : undefined;
    case 'goodbye':
    case 'session-ended':
      return typeof value.reason === 'string' ? (value as Push) : undefined;
    default:
      return undefined;
  }
}

function parseErrorReply(value: Fields): ErrorReply | undefined {
  const error = value.error;
  if (!isObject(error) || typeof error.message !== 'string' || typeof error.code !== 'string') return undefined;
  // An unknown code from a newer server still reaches the user with its message.
  const code = (KNOWN_CODES.has(error.code) ? error.code : 'INTERNAL') as ErrorCode;
  const retryAfter = typeof error.retryAfter === 'number' ? error.retryAfter : undefined;
  return {
    id: value.id as ErrorReply['id'],
    ok: false,
    error: retryAfter === undefined ? { code, message: error.message } : { code, message: error.message, retryAfter },
  };
}

function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isRequestId(value: unknown): boolean {
  return typeof value === 'string' || typeof value === 'number';
}

function isCursor(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function bad(message: string): ParsedFrame {
  return { ok: false, message };
}

function preview(line: string): string {
  return JSON.stringify(line.length > 60 ? `${line.slice(0, 60)}…` : line);
}
