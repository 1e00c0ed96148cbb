// The chat of a cluster node: several Parley nodes share one Redis, and each keeps a copy of the
// whole history in its own ring buffer. Implements `Chat`, so the edges cannot tell it from the
// single-node store (server/store/local-chat.ts), whose semantics it keeps.
//
//   send/delete ──> Lua script in Redis (write-scripts.ts): checks + seq + XADD, atomically
//        │                      │
//        │              parley:changes (Redis Stream: the one history and order)
//        │                      │  XREAD BLOCK, every node on its own connection
//        │                      v
//        └── waits until ─> this node's ring (stream-follower.ts) ─> live subscribers
//            applied here       reads: changesAfter, history, SSE, TCP pushes, all local
//
// - One order: Redis runs scripts one at a time, and the seq it hands out is the entry ID, the
//   message id and the cursor on every node. A client that moves between nodes resumes from its
//   cursor with no gap and no duplicate.
// - Acknowledged means stored in Redis, and applied to this node's ring: the sender's next
//   read on this node sees its own write. (If the copy does not arrive within
//   `commandTimeoutMs`, the sender gets UNAVAILABLE saying the write was stored.)
// - Faults: while Redis is unreachable, writes, logins and logouts fail at once with UNAVAILABLE
//   (503 / error frame); reads keep being served from the ring, and sessions this node confirmed
//   keep working (shared-sessions.ts). node-redis reconnects with backoff and the follower
//   reads on from the last entry it applied. Nothing half-written: each write is one script.
// - Idempotent sends: the script looks the clientId up in Redis, so a retry through another
//   node is still never a duplicate. The window is the last `capacity` seqs, like one node's.
// - Rate limits are per node (a user spread over N nodes may send N times the rate).
import { MAX_CLIENT_ID_LENGTH } from '../../protocol/limits.js';
import { checkText } from '../../protocol/message-text.js';
import { checkUsername } from '../../protocol/username.js';
import type { ChangeSet, ChatMessage } from '../../protocol/message.js';
import type { Chat, LiveChange, SendResult, Session, StoreStats } from '../chat/chat.js';
import { ApiError } from '../errors.js';
import { RingBuffer, type Change } from '../ring-buffer.js';
import { RateLimiter } from '../store/rate-limiter.js';
import { RedisLink, RETRY_AFTER_SECONDS, type EventListener } from './redis-link.js';
import { changesAfter, history, liveChangesAfter, toLiveChange, toRetriedMessage } from '../store/ring-reads.js';
import { SharedSessions } from './shared-sessions.js';
import { StreamFollower } from './stream-follower.js';
import { CHANGES_KEY, CLIENT_IDS_KEY, clientIdMember, LOGOUT_CHANNEL } from './stream-entry.js';

export interface ClusterChatOptions {
  /** redis:// or rediss:// URL (--cluster). */
  url: string;
  capacity: number;
  arenaBytes: number;
  rateLimit: number;
  /** How long open() waits for Redis before it gives up. Default 10 s. */
  connectTimeoutMs?: number;
  /** Longest a request waits for Redis before it is answered UNAVAILABLE. Default 5 s. */
  commandTimeoutMs?: number;
  /** Unexpected failures, with the error (chat.log with its stack). */
  onError?: (event: string, error: unknown) => void;
  /** Redis went away or came back, the node joined, ... (docs/deploy.md, "Log events"). */
  onEvent?: EventListener;
}

/** Why a node could not join its cluster, as a sentence for the operator. */
export class ClusterError extends Error {}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;

export class ClusterChat implements Chat {
  readonly ring: RingBuffer;
  readonly #link: RedisLink;
  readonly #sessions: SharedSessions;
  readonly #follower: StreamFollower;
  readonly #limiter: RateLimiter;
  readonly #listeners = new Set<(change: LiveChange) => void>();
  readonly #onError: (event: string, error: unknown) => void;
  readonly #onEvent: EventListener;
  readonly #commandTimeoutMs: number;
  readonly #writes = new Set<Promise<unknown>>();
  #isClosed = false;

  private constructor(ring: RingBuffer, link: RedisLink, sessions: SharedSessions, options: ClusterChatOptions) {
    this.ring = ring;
    this.#link = link;
    this.#sessions = sessions;
    this.#limiter = new RateLimiter(options.rateLimit);
    this.#onError = options.onError ?? (() => {});
    this.#onEvent = options.onEvent ?? (() => {});
    this.#commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.#follower = new StreamFollower({
      ring,
      client: link.follower,
      onChanges: (changes) => this.#announce(changes),
      onError: this.#onError,
      onEvent: this.#onEvent,
    });
  }

  /** Connects to Redis and replays the stream into a fresh ring; throws ClusterError. */
  static async open(options: ClusterChatOptions): Promise<ClusterChat> {
    const ring = RingBuffer.create({ capacity: options.capacity, arenaBytes: options.arenaBytes });
    const link = new RedisLink({
      url: options.url,
      commandTimeoutMs: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
      onError: options.onError ?? (() => {}),
      onEvent: options.onEvent ?? (() => {}),
    });
    try {
      await link.connect(options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
    } catch (error) {
      throw new ClusterError((error as Error).message);
    }
    let chat: ClusterChat;
    try {
      chat = new ClusterChat(ring, link, await SharedSessions.open(link), options);
    } catch (error) {
      link.destroy();
      throw new ClusterError(`cannot subscribe to ${LOGOUT_CHANNEL} in Redis (${(error as Error).message})`);
    }
    try {
      await chat.#follower.catchUp();
    } catch (error) {
      link.destroy();
      throw new ClusterError(`cannot read the chat from Redis (${(error as Error).message}); is ${CHANGES_KEY} a Parley stream?`);
    }
    chat.#follower.start();
    options.onEvent?.('info', 'cluster-joined', { seq: ring.head, kept: ring.stats().used });
    return chat;
  }

  // --- sessions -------------------------------------------------------------------------

  async login(username: unknown): Promise<Session> {
    this.#refuseWhenClosed();
    const check = checkUsername(username);
    if (!check.ok) throw new ApiError('INVALID_USERNAME', check.message);
    return this.#sessions.create(check.username);
  }

  lookup(token: string): Promise<Session | undefined> {
    return this.#sessions.lookup(token);
  }

  logout(token: string): Promise<void> {
    return this.#sessions.remove(token);
  }

  onSessionEnded(listener: (tokenHash: string) => void): () => void {
    return this.#sessions.onEnded(listener);
  }

  // --- writes ---------------------------------------------------------------------------

  send(username: string, text: unknown, clientId: unknown): Promise<SendResult> {
    return this.#track(this.#send(username, text, clientId));
  }

  delete(username: string, messageId: number): Promise<{ cursor: number }> {
    return this.#track(this.#delete(username, messageId));
  }

  async #send(username: string, text: unknown, clientId: unknown): Promise<SendResult> {
    this.#refuseWhenClosed();
    if (typeof text !== 'string') throw new ApiError('BAD_REQUEST', 'text must be a string');
    let member = '';
    if (clientId !== undefined && clientId !== null) {
      if (typeof clientId !== 'string' || clientId.length === 0 || clientId.length > MAX_CLIENT_ID_LENGTH) {
        throw new ApiError('BAD_REQUEST', `clientId must be a string of 1 to ${MAX_CLIENT_ID_LENGTH} characters`);
      }
      member = clientIdMember(username, clientId);
    }
    // As on one node, a retry of a message that was stored is answered with the original even
    // when the retry itself would be refused (a stricter text rule, a full rate bucket).
    const check = checkText(text);
    if (!check.ok) {
      const original = await this.#sentBefore(member, username, text);
      if (original) return { message: original, duplicate: true };
      throw new ApiError(check.code, check.message);
    }
    const waitSeconds = this.#limiter.take(username);
    if (waitSeconds > 0) {
      const original = await this.#sentBefore(member, username, text);
      if (original) return { message: original, duplicate: true };
      throw new ApiError('RATE_LIMITED', `you are sending too fast; wait ${waitSeconds} s and try again`, { retryAfter: waitSeconds });
    }

    const reply = await this.#link.run('store your message', (redis) =>
      redis.parleySend({
        user: username,
        text: check.text,
        clientId: typeof clientId === 'string' ? clientId : '',
        member,
        capacity: this.ring.capacity,
        floor: this.ring.head,
      }),
    );
    if (reply.outcome === 'duplicate') return { message: await this.#originalMessage(reply.seq, username, text), duplicate: true };
    await this.#applied(reply.seq);
    return {
      message: { id: reply.seq, user: username, text: check.text, time: new Date(reply.timeMs).toISOString() },
      duplicate: false,
    };
  }

  async #delete(username: string, messageId: number): Promise<{ cursor: number }> {
    this.#refuseWhenClosed();
    if (!Number.isSafeInteger(messageId) || messageId < 1) {
      throw new ApiError('NOT_FOUND', `there is no message ${String(messageId)}; ids are positive whole numbers`);
    }
    const reply = await this.#link.run('delete that message', (redis) =>
      redis.parleyDelete({ messageId, user: username, capacity: this.ring.capacity, floor: this.ring.head }),
    );
    if (reply.outcome === 'forbidden') {
      throw new ApiError('FORBIDDEN', `message ${messageId} is someone else's; you can only delete your own messages`);
    }
    if (reply.outcome !== 'deleted') throw new ApiError('NOT_FOUND', `there is no message ${messageId}, or it was already deleted`);
    await this.#applied(reply.seq);
    return { cursor: reply.seq };
  }

  /** The message an earlier send with this clientId created, when Redis can say so now. */
  async #sentBefore(member: string, username: string, text: string): Promise<ChatMessage | undefined> {
    if (member === '') return undefined;
    let score: number | null;
    try {
      score = await this.#link.run('look up your earlier message', (redis) => redis.zScore(CLIENT_IDS_KEY, member));
    } catch {
      return undefined; // the refusal the caller is about to give is the better answer
    }
    return score === null ? undefined : this.#originalMessage(score, username, text);
  }

  async #originalMessage(seq: number, username: string, text: string): Promise<ChatMessage> {
    await this.#applied(seq);
    const change = this.ring.readMessage(seq, this.ring.published);
    // Evicted from memory long ago: the id and author are what matter to the retrying client.
    return change ? toRetriedMessage(change) : { id: seq, user: username, text, time: new Date(0).toISOString() };
  }

  /**
   * Read-your-writes: waits until this node's ring has published `seq`. A write is acknowledged
   * only then, so an acknowledged write is always visible on the node that took it. When the
   * copy does not come (the follower lost Redis right after the write), the write is stored but
   * the sender is told so with a 503, and a resend with its clientId gets the original.
   */
  async #applied(seq: number): Promise<void> {
    if (await this.#follower.waitFor(seq, this.#commandTimeoutMs)) return;
    this.#onEvent('warn', 'cluster-copy-late', { seq, waitedMs: this.#commandTimeoutMs });
    throw new ApiError(
      'UNAVAILABLE',
      'that was stored, but this server lost the chat store (Redis) before it could show it; it appears once the connection is back (a resend with the same clientId is never a duplicate)',
      { retryAfter: RETRY_AFTER_SECONDS },
    );
  }

  #track<T>(write: Promise<T>): Promise<T> {
    this.#writes.add(write);
    const forget = () => this.#writes.delete(write);
    write.then(forget, forget);
    return write;
  }

  #announce(changes: Change[]): void {
    if (this.#listeners.size === 0) return;
    for (const change of changes) {
      const live = toLiveChange(change);
      for (const listener of this.#listeners) {
        try {
          listener(live);
        } catch (error) {
          this.#onError('subscriber-failed', error);
        }
      }
    }
  }

  #refuseWhenClosed(): void {
    if (this.#isClosed) throw new ApiError('SHUTTING_DOWN', 'the server is shutting down; try again in a few seconds', { retryAfter: 5 });
  }

  // --- reads (this node's ring) -----------------------------------------------------------

  get cursor(): number {
    return this.ring.published;
  }

  // A cursor past this node's newest change is one another node handed out before this node
  // applied it: echo it, so the client is not sent what it already has once this node catches up.
  changesAfter(cursor: number, limit: number): ChangeSet {
    if (cursor > this.cursor) return { messages: [], deleted: [], last: cursor };
    return changesAfter(this.ring, cursor, limit);
  }

  liveChangesAfter(cursor: number, limit: number): { changes: LiveChange[]; last: number; missed: boolean } {
    if (cursor > this.cursor) return { changes: [], last: cursor, missed: false };
    return liveChangesAfter(this.ring, cursor, limit);
  }

  history(before: number | undefined, limit: number): ChangeSet {
    return history(this.ring, before, limit);
  }

  subscribe(listener: (change: LiveChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  stats(): StoreStats {
    const ring = this.ring.stats();
    return {
      ring: { used: ring.used, capacity: ring.capacity, arenaUsedBytes: ring.arenaUsedBytes, arenaBytes: ring.arenaBytes },
      // No worker pool: Redis applies the writes. `queued` is the writes waiting for it.
      pool: { queued: this.#writes.size, utilization: 0, threads: 0 },
    };
  }

  /** False while Redis is unreachable from this node (or does not answer a PING). */
  async isHealthy(): Promise<boolean> {
    if (this.#isClosed || !this.#link.isUp || !this.#link.follower.isReady) return false;
    try {
      await this.#link.run('answer a health check', (redis) => redis.ping());
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.#isClosed) return;
    this.#isClosed = true;
    await Promise.allSettled([...this.#writes]);
    this.#follower.stop();
    await this.#link.close();
    await this.#follower.stopped;
  }
}
