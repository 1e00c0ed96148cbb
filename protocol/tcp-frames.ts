// Frames of the TCP chat protocol (docs/protocol.md): one JSON object per line, UTF-8, "\n"
// terminated. Requests carry an `id` that the reply echoes; pushes carry an `event` instead.
import type { ErrorCode } from './error-codes.js';
import type { ChatMessage } from './message.js';

export type RequestId = string | number;

export type Request =
  | { id: RequestId; op: 'login'; username: string }
  | { id: RequestId; op: 'resume'; token: string }
  | { id: RequestId; op: 'logout' }
  | { id: RequestId; op: 'send'; text: string; clientId?: string }
  | { id: RequestId; op: 'delete'; messageId: number }
  | { id: RequestId; op: 'history'; last?: number; before?: number; limit?: number }
  | { id: RequestId; op: 'subscribe'; last?: number }
  | { id: RequestId; op: 'unsubscribe' }
  | { id: RequestId; op: 'ping' };

export type Operation = Request['op'];
export const OPERATIONS: readonly Operation[] = [
  'login',
  'resume',
  'logout',
  'send',
  'delete',
  'history',
  'subscribe',
  'unsubscribe',
  'ping',
];

/** Successful replies, by operation. Every reply also has `id` and `ok: true`. */
export interface ReplyBodies {
  login: { username: string; token: string };
  resume: { username: string; token: string };
  logout: Record<string, never>;
  send: { message: ChatMessage; duplicate: boolean };
  delete: { cursor: number };
  history: { messages: ChatMessage[]; deleted: number[]; last: number; reset?: true };
  /** `last`: the cursor pushes continue after. `missed`: the requested cursor is not in the
   *  server's history (older than anything kept, or newer than its newest change), so the
   *  client should reload what it shows; pushes continue after `last`. */
  subscribe: { last: number; missed: boolean };
  unsubscribe: Record<string, never>;
  ping: { time: string };
}

export type OkReply<Op extends Operation = Operation> = { id: RequestId; ok: true } & ReplyBodies[Op];
export interface ErrorReply {
  id: RequestId | null;
  ok: false;
  error: { code: ErrorCode; message: string; retryAfter?: number };
}
export type Reply = OkReply | ErrorReply;

/** Frames the server sends unasked. */
export type Push =
  | { event: 'hello'; server: 'parley'; protocol: 1; limits: { maxFrameBytes: number; maxTextLength: number } }
  | { event: 'message'; cursor: number; message: ChatMessage }
  | { event: 'delete'; cursor: number; id: number }
  | { event: 'goodbye'; reason: string; retryAfter?: number }
  /** The connection's session ended (a logout on another connection or node): log in again. */
  | { event: 'session-ended'; reason: string };

export type ServerFrame = Reply | Push;

export function isPush(frame: ServerFrame): frame is Push {
  return 'event' in frame;
}
