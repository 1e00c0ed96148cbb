// What each TCP request does: checks its fields and calls the chat. The connection
// (connection.ts) owns the socket, framing, ordering and subscriptions; this file owns meaning.
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../../protocol/limits.js';
import type { ReplyBodies, Request } from '../../protocol/tcp-frames.js';
import type { Chat, Session } from '../chat/chat.js';
import { ApiError } from '../errors.js';

/** The connection state an operation may read or change. */
export interface OperationContext {
  chat: Chat;
  session: Session | undefined;
  setSession(session: Session | undefined): void;
}

type Handlers = {
  [Op in Exclude<Request['op'], 'subscribe' | 'unsubscribe'>]: (
    request: Extract<Request, { op: Op }>,
    context: OperationContext,
  ) => Promise<ReplyBodies[Op]> | ReplyBodies[Op];
};

export const operations: Handlers = {
  async login(request, context) {
    const session = await context.chat.login(request.username);
    context.setSession(session);
    return { username: session.username, token: session.token };
  },

  async resume(request, context) {
    const token = requireString(request, 'token');
    const session = await context.chat.lookup(token);
    if (!session) throw new ApiError('NOT_LOGGED_IN', 'that session has ended (logged out elsewhere); log in again');
    context.setSession(session);
    return { username: session.username, token };
  },

  async logout(_request, context) {
    const session = context.session;
    // Logged out here first, so the session-ended push goes only to the session's other connections.
    context.setSession(undefined);
    if (session) await context.chat.logout(session.token);
    return {};
  },

  async send(request, context) {
    const session = requireSession(context);
    return context.chat.send(session.username, request.text, request.clientId);
  },

  async delete(request, context) {
    const session = requireSession(context);
    const messageId = optionalCursor(request, 'messageId');
    if (messageId === undefined) throw new ApiError('BAD_REQUEST', 'delete needs "messageId", the id of your message');
    return context.chat.delete(session.username, messageId);
  },

  history(request, context) {
    requireSession(context);
    const last = optionalCursor(request, 'last');
    const before = optionalCursor(request, 'before');
    const limit = optionalCursor(request, 'limit') ?? DEFAULT_PAGE_SIZE;
    if (limit < 1 || limit > MAX_PAGE_SIZE) {
      throw new ApiError('BAD_REQUEST', `"limit" must be from 1 to ${MAX_PAGE_SIZE}`);
    }
    if (last !== undefined && before !== undefined) {
      throw new ApiError('BAD_REQUEST', 'use "last" (changes after a cursor) or "before" (older messages), not both');
    }
    return last !== undefined ? context.chat.changesAfter(last, limit) : context.chat.history(before, limit);
  },

  ping() {
    return { time: new Date().toISOString() };
  },
};

export function requireSession(context: OperationContext): Session {
  if (!context.session) throw new ApiError('NOT_LOGGED_IN', 'log in first: {"id":1,"op":"login","username":"you"}');
  return context.session;
}

function requireString(request: object, field: string): string {
  const value = (request as Record<string, unknown>)[field];
  if (typeof value !== 'string' || value.length === 0) throw new ApiError('BAD_REQUEST', `"${field}" must be a non-empty string`);
  return value;
}

/** A non-negative whole number field, or undefined when absent. */
export function optionalCursor(request: object, field: string): number | undefined {
  const value = (request as Record<string, unknown>)[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ApiError('BAD_REQUEST', `"${field}" must be a whole number of 0 or more`);
  }
  return value;
}
