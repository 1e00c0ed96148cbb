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
//   read on this node sees its own write. (If the copy does not arrive within the request's
//   time budget, the sender gets UNAVAILABLE saying the write was stored.)
// - One time budget per write, `commandTimeoutMs` (5 s): the script must start in Redis before
//   it ends (write-scripts.ts), so a write refused for taking too long never lands later, and a
//   Redis that already failed to answer within it (the session check) is not waited for again
//   (redis-link.ts).
// - Faults: while Redis is unreachable, writes, logins and logouts fail at once with UNAVAILABLE
//   (503 / error frame); reads keep being served from the ring, and sessions this node confirmed
//   keep working (shared-sessions.ts). node-redis reconnects with backoff, the node joins again
//   (membership.ts) and the follower reads on from the last entry it applied. Nothing
//   half-written: each write is one script.
// - A Redis that lost data: ids go on above everything any node held, every node rebuilds its
//   ring from what Redis holds, and clients whose cursor points into what was lost get `reset`
//   (history-gaps.ts).
// - Idempotent sends: the script looks the clientId up in Redis, so a retry through another
//   node is still never a duplicate. The window is the last `capacity` seqs, like one node's.
// - Rate limits are per node (a user spread over N nodes may send N times the rate).
import { hostname } from 'node:os';
import { MAX_CLIENT_ID_LENGTH } from '../../protocol/limits.js';
import { checkText } from '../../protocol/message-text.js';
import { checkUsername } from '../../protocol/username.js';
import type { ChangeSet, ChatMessage } from '../../protocol/message.js';
import type { Chat, LiveChange, SendResult, Session, StoreStats } from '../chat/chat.js';
import { ApiError } from '../errors.js';
import { RingBuffer, type Change } from '../ring-buffer.js';
import { RateLimiter } from '../store/rate-limiter.js';
import { changesAfter, history, liveChangesAfter, resetPage, toChatMessage, toLiveChange } from '../store/ring-reads.js';
import { HistoryGaps, type CursorStanding } from './history-gaps.js';
import { CapacityError, Membership } from './membership.js';
import { RedisLink, RETRY_AFTER_SECONDS, type EventListener } from './redis-link.js';
import { SharedSessions } from './shared-sessions.js';
import { StreamFollower } from './stream-follower.js';
import { CHANGES_KEY, CLIENT_IDS_KEY, clientIdMember, LOGOUT_CHANNEL } from './stream-entry.js';
import type { ScriptReply } from './write-scripts.js';

export interface ClusterChatOptions {
  /** redis:// or rediss:// URL (--cluster). */
  url: string;
  capacity: number;
  arenaBytes: number;
  rateLimit: number;
  /** --node-name: in this node's log events and its Redis connections' names. Default host-pid. */
  nodeName?: string;
  /** How long open() waits for Redis before it gives up. Default 10 s. */
  connectTimeoutMs?: number;
  /** A request's time budget for Redis: past it, the answer is UNAVAILABLE. Default 5 s. */
  commandTimeoutMs?: number;
  /**
   * How long one blocking read of the stream waits for news. Its connection counts as dead
   * after this plus 3 s without a byte (a half-open connection). Default 5 s.
   */
  followBlockMs?: number;
  /** Unexpected failures, with the error (chat.log with its stack). */
  onError?: (event: string, error: unknown) => void;
  /** Redis went away or came back, the node joined, ... (docs/deploy.md, "Log events"). */
  onEvent?: EventListener;
}

/** Why a node could not join its cluster, as a sentence for the operator. */
export class ClusterError extends Error {}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;
const DEFAULT_FOLLOW_BLOCK_MS = 5_000;
/** A stored write's copy gets at least this long, even when the script took the whole budget. */
const MIN_COPY_WAIT_MS = 200;

interface Settings {
  capacity: number;
  arenaBytes: number;
  rateLimit: number;
  commandTimeoutMs: number;
  followBlockMs: number;
  onError: (event: string, error: unknown) => void;
  onEvent: EventListener;
}

export class ClusterChat implements Chat {
  readonly #link: RedisLink;
  readonly #sessions: SharedSessions;
  readonly #membership: Membership;
  readonly #gaps = new HistoryGaps();
  readonly #follower: StreamFollower;
  readonly #limiter: RateLimiter;
  readonly #listeners = new Set<(change: LiveChange) => void>();
  readonly #settings: Settings;
  readonly #writes = new Set<Promise<unknown>>();
  #isClosed = false;

  private constructor(link: RedisLink, sessions: SharedSessions, settings: Settings) {
    this.#link = link;
    this.#sessions = sessions;
    this.#settings = settings;
    this.#limiter = new RateLimiter(settings.rateLimit);
    this.#membership = new Membership({ capacity: settings.capacity, onEvent: settings.onEvent });
    const newRing = () => RingBuffer.create({ capacity: settings.capacity, arenaBytes: settings.arenaBytes });
    this.#follower = new StreamFollower({
      ring: newRing(),
      client: link.follower,
      gaps: this.#gaps,
      blockMs: settings.followBlockMs,
      join: (client, head) => this.#membership.join(client, head),
      newRing,
      onChanges: (changes) => this.#announce(changes),
      onError: settings.onError,
      onEvent: settings.onEvent,
    });
  }

  /** Connects to Redis, joins the cluster and replays the stream into a fresh ring; throws ClusterError. */
  static async open(options: ClusterChatOptions): Promise<ClusterChat> {
    const nodeName = options.nodeName ?? `${hostname()}-${process.pid}`;
    const report = options.onEvent ?? (() => {});
    const settings: Settings = {
      capacity: options.capacity,
      arenaBytes: options.arenaBytes,
      rateLimit: options.rateLimit,
      commandTimeoutMs: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
      followBlockMs: options.followBlockMs ?? DEFAULT_FOLLOW_BLOCK_MS,
      onError: options.onError ?? (() => {}),
      onEvent: (level, event, fields) => report(level, event, { node: nodeName, ...fields }),
    };
    const link = new RedisLink({
      url: options.url,
      nodeName,
      commandTimeoutMs: settings.commandTimeoutMs,
      followBlockMs: settings.followBlockMs,
      onError: settings.onError,
      onEvent: settings.onEvent,
    });
    try {
      await link.connect(options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
    } catch (error) {
      throw new ClusterError((error as Error).message);
    }
    let chat: ClusterChat;
    try {
      chat = new ClusterChat(link, await SharedSessions.open(link), settings);
    } catch (error) {
      link.destroy();
      throw new ClusterError(`cannot subscribe to ${LOGOUT_CHANNEL} in Redis (${(error as Error).message})`);
    }
    try {
      await chat.#follower.catchUp();
    } catch (error) {
      link.destroy();
      if (error instanceof CapacityError) throw new ClusterError(error.message);
      throw new ClusterError(`cannot read the chat from Redis (${(error as Error).message}); is ${CHANGES_KEY} a Parley stream?`);
    }
    chat.#follower.start();
    settings.onEvent('info', 'cluster-joined', { seq: chat.cursor, kept: chat.ring.stats().used, epoch: chat.#membership.epoch });
    return chat;
  }

  /** This node's copy of the stream (a new one after Redis lost data). */
  get ring(): RingBuffer {
    return this.#follower.ring;
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
    const deadlineMs = Date.now() + this.#settings.commandTimeoutMs;
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
      const original = await this.#sentBefore(member, username, text, deadlineMs);
      if (original) return { message: original, duplicate: true };
      throw new ApiError(check.code, check.message);
    }
    const waitSeconds = this.#limiter.take(username);
    if (waitSeconds > 0) {
      const original = await this.#sentBefore(member, username, text, deadlineMs);
      if (original) return { message: original, duplicate: true };
      throw new ApiError('RATE_LIMITED', `you are sending too fast; wait ${waitSeconds} s and try again`, { retryAfter: waitSeconds });
    }

    const what = 'store your message';
    const reply = await this.#link.run(
      what,
      (redis) =>
        redis.parleySend({
          user: username,
          text: check.text,
          clientId: typeof clientId === 'string' ? clientId : '',
          member,
          capacity: this.#settings.capacity,
          floor: this.ring.head,
          epoch: this.#membership.epoch,
          startBy: this.#membership.startBy(deadlineMs),
        }),
      deadlineMs - Date.now(),
    );
    this.#refuseUnwritten(reply, what);
    this.#gaps.noteSeq(reply.seq);
    if (reply.outcome === 'duplicate') return { message: await this.#originalMessage(reply.seq, username, text, deadlineMs), duplicate: true };
    await this.#applied(reply.seq, deadlineMs);
    return {
      message: { id: reply.seq, user: username, text: check.text, time: new Date(reply.timeMs).toISOString() },
      duplicate: false,
    };
  }

  async #delete(username: string, messageId: number): Promise<{ cursor: number }> {
    this.#refuseWhenClosed();
    const deadlineMs = Date.now() + this.#settings.commandTimeoutMs;
    if (!Number.isSafeInteger(messageId) || messageId < 1) {
      throw new ApiError('NOT_FOUND', `there is no message ${String(messageId)}; ids are positive whole numbers`);
    }
    const what = 'delete that message';
    const reply = await this.#link.run(
      what,
      (redis) =>
        redis.parleyDelete({
          messageId,
          user: username,
          capacity: this.#settings.capacity,
          floor: this.ring.head,
          epoch: this.#membership.epoch,
          startBy: this.#membership.startBy(deadlineMs),
        }),
      deadlineMs - Date.now(),
    );
    this.#refuseUnwritten(reply, what);
    if (reply.outcome === 'forbidden') {
      throw new ApiError('FORBIDDEN', `message ${messageId} is someone else's; you can only delete your own messages`);
    }
    if (reply.outcome !== 'deleted') throw new ApiError('NOT_FOUND', `there is no message ${messageId}, or it was already deleted`);
    this.#gaps.noteSeq(reply.seq);
    await this.#applied(reply.seq, deadlineMs);
    return { cursor: reply.seq };
  }

  /** A script that wrote nothing because it came too late or Redis is in another epoch. */
  #refuseUnwritten(reply: ScriptReply, what: string): void {
    if (reply.outcome === 'expired') {
      throw new ApiError('UNAVAILABLE', `the chat store (Redis) did not answer in time, so the server could not ${what}; try again in a few seconds`, {
        retryAfter: RETRY_AFTER_SECONDS,
      });
    }
    if (reply.outcome === 'stale') {
      this.#follower.rejoin();
      throw new ApiError('UNAVAILABLE', `the chat store (Redis) restarted or lost its data, so the server could not ${what} until it has caught up; try again in a few seconds`, {
        retryAfter: RETRY_AFTER_SECONDS,
      });
    }
  }

  /** The message an earlier send with this clientId created, when Redis can say so now. */
  async #sentBefore(member: string, username: string, text: string, deadlineMs: number): Promise<ChatMessage | undefined> {
    if (member === '') return undefined;
    let score: number | null;
    try {
      score = await this.#link.run('look up your earlier message', (redis) => redis.zScore(CLIENT_IDS_KEY, member), deadlineMs - Date.now());
    } catch {
      return undefined; // the refusal the caller is about to give is the better answer
    }
    return score === null ? undefined : this.#originalMessage(score, username, text, deadlineMs);
  }

  async #originalMessage(seq: number, username: string, text: string, deadlineMs: number): Promise<ChatMessage> {
    await this.#applied(seq, deadlineMs);
    const change = this.ring.readMessage(seq, this.ring.published);
    // Evicted from memory long ago: the id and author are what matter to the retrying client.
    return change ? toChatMessage(change) : { id: seq, user: username, text, time: new Date(0).toISOString() };
  }

  /**
   * Read-your-writes: waits until this node's ring has published `seq`. A write is acknowledged
   * only then, so an acknowledged write is always visible on the node that took it. When the
   * copy does not come (the follower lost Redis right after the write), the write is stored but
   * the sender is told so with a 503, and a resend with its clientId gets the original.
   */
  async #applied(seq: number, deadlineMs: number): Promise<void> {
    const waitMs = Math.max(deadlineMs - Date.now(), MIN_COPY_WAIT_MS);
    const outcome = await this.#follower.waitFor(seq, waitMs);
    if (outcome === 'applied') return;
    if (outcome === 'lost') {
      throw new ApiError('UNAVAILABLE', 'the chat store (Redis) lost that right after storing it (it restarted without its data); please send it again', {
        retryAfter: RETRY_AFTER_SECONDS,
      });
    }
    this.#settings.onEvent('warn', 'cluster-copy-late', { seq, waitedMs: waitMs });
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
          this.#settings.onError('subscriber-failed', error);
        }
      }
    }
  }

  #refuseWhenClosed(): void {
    if (this.#isClosed) throw new ApiError('SHUTTING_DOWN', 'the server is shutting down; try again in a few seconds', { retryAfter: 5 });
  }

  // --- reads (this node's ring) -----------------------------------------------------------

  /** The newest change published here, or the newest lost mark when that is newer. */
  get cursor(): number {
    return Math.max(this.ring.published, this.#gaps.lastMark);
  }

  changesAfter(cursor: number, limit: number): ChangeSet {
    const standing = this.#standing(cursor);
    if (standing === 'lagging') return { messages: [], deleted: [], last: cursor };
    if (standing === 'gone') return { ...resetPage(this.ring, limit), last: this.cursor };
    const page = changesAfter(this.ring, cursor, limit);
    return { ...page, last: this.#newest(page.last) };
  }

  liveChangesAfter(cursor: number, limit: number): { changes: LiveChange[]; last: number; missed: boolean } {
    const standing = this.#standing(cursor);
    if (standing === 'lagging') return { changes: [], last: cursor, missed: false };
    const page = liveChangesAfter(this.ring, cursor, limit);
    return { changes: page.changes, last: this.#newest(page.last), missed: page.missed || standing === 'gone' };
  }

  history(before: number | undefined, limit: number): ChangeSet {
    return { ...history(this.ring, before, limit), last: this.cursor };
  }

  /** See history-gaps.ts. */
  #standing(cursor: number): CursorStanding {
    return this.#gaps.standing(cursor, this.ring.published, this.#follower.isFollowing);
  }

  /** A page that reached the newest change also passes any lost mark after it. */
  #newest(last: number): number {
    return last === this.ring.published ? this.cursor : last;
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
