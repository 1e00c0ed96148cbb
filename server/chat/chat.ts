// What the edges (HTTP, TCP) see of the chat: one small interface, so the single-node store
// (ring buffer + journal + worker pool) and the Redis cluster store are interchangeable.
import type { ChangeSet, ChatMessage } from '../../protocol/message.js';

export interface Session {
  token: string;
  username: string;
}

/** A change as it is published to live subscribers, in cursor order. */
export type LiveChange =
  | { kind: 'message'; cursor: number; message: ChatMessage }
  | { kind: 'delete'; cursor: number; id: number };

export interface SendResult {
  message: ChatMessage;
  /** True when this clientId was already used by this user: `message` is the original. */
  duplicate: boolean;
}

/** Figures for metrics and the startup banner. */
/** How a store reports what an operator should see in chat.log (main.ts passes the logger). */
export type EventListener = (level: 'info' | 'warn' | 'error', event: string, fields: Record<string, unknown>) => void;

export interface StoreStats {
  ring: { used: number; capacity: number; arenaUsedBytes: number; arenaBytes: number };
  /** `completed`: tasks the worker threads have finished since start. */
  pool: { queued: number; utilization: number; threads: number; completed: number };
}

export interface Chat {
  /** Creates a session for a valid username; throws INVALID_USERNAME. */
  login(username: unknown): Promise<Session>;
  /** The live session behind a token, or undefined. */
  lookup(token: string): Promise<Session | undefined>;
  /** Ends a session everywhere; ending an unknown one is not an error. */
  logout(token: string): Promise<void>;
  /**
   * Calls `listener` with the hash (server/chat/session-token.ts) of every session that ends
   * from now on, here or on another node, so the edges can end the connections and streams
   * opened with it. May call more than once for one session. Returns unsubscribe.
   */
  onSessionEnded(listener: (tokenHash: string) => void): () => void;

  /** Validates and stores a message; resolves once it is durable. Throws TEXT_*, RATE_LIMITED. */
  send(username: string, text: unknown, clientId: unknown): Promise<SendResult>;
  /** Deletes one's own message; throws FORBIDDEN or NOT_FOUND. */
  delete(username: string, messageId: number): Promise<{ cursor: number }>;

  /** The newest cursor readers can see. */
  readonly cursor: number;
  /**
   * Everything that changed after `cursor`, at most `limit` changes. A cursor this chat cannot
   * continue from (older than anything kept, or past the newest change of a history that began
   * again) gets the newest `limit` messages with `reset: true` instead.
   */
  changesAfter(cursor: number, limit: number): ChangeSet;
  /**
   * The same changes as `changesAfter`, one by one with their cursors, for streams (TCP
   * subscribe, SSE). A message deleted before it was ever seen and the deletion of a message
   * after the cursor are both left out. `missed`: the cursor was one this chat cannot continue
   * from (as for `reset` above); the stream then goes on after `last`, and the client should
   * reload what it shows.
   */
  liveChangesAfter(cursor: number, limit: number): { changes: LiveChange[]; last: number; missed: boolean };
  /** The newest `limit` messages before message `before` (or the newest overall), oldest first. */
  history(before: number | undefined, limit: number): ChangeSet;
  /** Calls `listener` for every change published from now on, in order. Returns unsubscribe. */
  subscribe(listener: (change: LiveChange) => void): () => void;

  stats(): StoreStats;
  /** True when the store and its workers answer (health checks). */
  isHealthy(): Promise<boolean>;
  /** Stops accepting writes, finishes those in flight, flushes to disk. */
  close(): Promise<void>;
}
