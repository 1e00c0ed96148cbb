// The HTTP API (docs/api.md) as plain functions: one request helper, one parse step per answer
// shape, and one error type. No UI here; the live feed (live-feed.ts) and the hooks build on it.
import type { ErrorCode } from '../../protocol/error-codes.js';
import type { ChangeSet, ChatMessage } from '../../protocol/message.js';

/** `NETWORK`: no answer at all (offline, server down); `BAD_RESPONSE`: an answer we cannot read. */
export type ClientErrorCode = ErrorCode | 'NETWORK' | 'BAD_RESPONSE';

export class ApiError extends Error {
  readonly status: number;
  readonly code: ClientErrorCode;
  /** Seconds from `Retry-After` (429, 503), when the server sent it. */
  readonly retryAfter: number | null;

  constructor(status: number, code: ClientErrorCode, message: string, retryAfter: number | null = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

export const isSessionEnded = (error: unknown): boolean => error instanceof ApiError && error.status === 401;

async function request(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
      cache: 'no-store',
      signal: signal ?? null,
    });
  } catch (error) {
    if (signal?.aborted) throw error;
    // Neutral on purpose: nothing retries a login, a delete or a log-out by itself. Only the
    // live feed keeps trying, and its status indicator says so.
    throw new ApiError(0, 'NETWORK', 'Can’t reach the server. Check your connection and try again.');
  }
  if (response.status === 204) return null;
  const text = await response.text().catch(() => '');
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: a proxy's error page, for instance. Handled below by status.
  }
  if (response.ok) return parsed;
  const retryAfter = Number(response.headers.get('retry-after'));
  const error = isRecord(parsed) && typeof parsed.error === 'string' ? parsed.error : null;
  const code = isRecord(parsed) && typeof parsed.code === 'string' ? (parsed.code as ErrorCode) : 'BAD_RESPONSE';
  throw new ApiError(
    response.status,
    code,
    error ?? `The server answered ${response.status}. Try again in a moment.`,
    Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null,
  );
}

/** The logged-in username, or null when this browser has no live session. */
export async function getSession(): Promise<string | null> {
  try {
    return parseUsername(await request('GET', '/api/login'));
  } catch (error) {
    if (isSessionEnded(error)) return null;
    throw error;
  }
}

export async function login(username: string): Promise<string> {
  return parseUsername(await request('POST', '/api/login', { username }));
}

export async function logout(): Promise<void> {
  await request('DELETE', '/api/login');
}

export interface MessageQuery {
  limit?: number;
  before?: number;
  last?: number;
  /** Long-poll seconds (0 to 30). */
  wait?: number;
}

export async function fetchMessages(query: MessageQuery, signal?: AbortSignal): Promise<ChangeSet> {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, String(value));
  const search = params.toString() ? `?${params}` : '';
  return parseChangeSet(await request('GET', `/api/messages${search}`, undefined, signal));
}

export async function sendMessage(text: string, clientId: string): Promise<ChatMessage> {
  return parseMessage(await request('POST', '/api/messages', { text, clientId }));
}

export async function deleteMessage(id: number): Promise<void> {
  await request('DELETE', `/api/messages/${id}`);
}

/** 128 random bits as hex. Not crypto.randomUUID(): that exists only on https or localhost. */
export function newClientId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

// Answers enter as unknown and are checked once here; past this point the types hold.

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function badResponse(what: string): ApiError {
  return new ApiError(200, 'BAD_RESPONSE', `The server sent ${what} this page does not understand. Reload the page.`);
}

function parseUsername(value: unknown): string {
  if (isRecord(value) && typeof value.username === 'string') return value.username;
  throw badResponse('a login answer');
}

export function parseMessage(value: unknown): ChatMessage {
  if (
    isRecord(value) &&
    Number.isInteger(value.id) &&
    typeof value.user === 'string' &&
    typeof value.text === 'string' &&
    typeof value.time === 'string'
  ) {
    return { id: value.id as number, user: value.user, text: value.text, time: value.time };
  }
  throw badResponse('a message');
}

export function parseChangeSet(value: unknown): ChangeSet {
  if (isRecord(value) && Array.isArray(value.messages) && Number.isInteger(value.last)) {
    const deleted = Array.isArray(value.deleted) ? value.deleted.filter(Number.isInteger) : [];
    const changes: ChangeSet = { messages: value.messages.map(parseMessage), deleted: deleted as number[], last: value.last as number };
    if (value.reset === true) changes.reset = true;
    return changes;
  }
  throw badResponse('a list of messages');
}
