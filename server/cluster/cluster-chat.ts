// The chat of a cluster node: several Parley nodes share one Redis, and each keeps a copy of the
// whole history in its own ring buffer. Implements `Chat`, so the edges cannot tell it from the
// single-node store (server/store/local-chat.ts), whose semantics it keeps.
//
//   send/delete ──> Lua script in Redis (cluster-writes.ts, write-scripts.ts): checks + seq + XADD
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
// - One time budget per write, `commandTimeoutMs` (5 s): the script must start in Redis a little
//   before it ends (cluster-writes.ts), so a write held up in a hung Redis never lands minutes
//   later; a write not answered within it is reported as unconfirmed, since it may have run.
//   A Redis that already failed to answer within it (the session check) is not waited for
//   again (redis-link.ts).
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
import { checkUsername } from '../../protocol/username.js';
import type { ChangeSet } from '../../protocol/message.js';
import type { Chat, EventListener, LiveChange, SendResult, Session, StoreStats } from '../chat/chat.js';
import { Listeners } from '../chat/listeners.js';
import { ApiError, shuttingDown } from '../errors.js';
import { RingBuffer, type Change } from '../ring-buffer.js';
import { announce, changesAfter, history, liveChangesAfter, resetPage, toLiveChange } from '../store/ring-reads.js';
import { ClusterWrites } from './cluster-writes.js';
import { HistoryGaps, type CursorStanding } from './history-gaps.js';
import { CapacityError, Membership } from './membership.js';
import { RedisLink } from './redis-link.js';
import { SharedSessions } from './shared-sessions.js';
import { StreamFollower } from './stream-follower.js';
import { CHANGES_KEY, LOGOUT_CHANNEL } from './stream-entry.js';

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

/** A node configured unlike its cluster: starting it again unchanged would fail again. */
export class ClusterConfigError extends ClusterError {}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;
const DEFAULT_FOLLOW_BLOCK_MS = 5_000;

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
  readonly #listeners: Listeners<LiveChange>;
  readonly #settings: Settings;
  readonly #writes: ClusterWrites;
  readonly #inFlight = new Set<Promise<unknown>>();
  #isClosed = false;

  private constructor(link: RedisLink, sessions: SharedSessions, settings: Settings) {
    this.#link = link;
    this.#sessions = sessions;
    this.#settings = settings;
    this.#listeners = new Listeners((error) => settings.onError('subscriber-failed', error));
    this.#membership = new Membership({ capacity: settings.capacity, onEvent: settings.onEvent });
    const newRing = () => RingBuffer.create({ capacity: settings.capacity, arenaBytes: settings.arenaBytes });
    this.#follower = new StreamFollower({
      ring: newRing(),
      client: link.follower,
      gaps: this.#gaps,
      blockMs: settings.followBlockMs,
      join: (client, head) => this.#membership.join(client, head),
      unblock: (clientId) => link.commands.sendCommand(['CLIENT', 'UNBLOCK', String(clientId)]),
      newRing,
      onChanges: (changes) => announce(this.#listeners, changes),
      onError: settings.onError,
      onEvent: settings.onEvent,
    });
    this.#writes = new ClusterWrites({
      link,
      membership: this.#membership,
      follower: this.#follower,
      gaps: this.#gaps,
      capacity: settings.capacity,
      rateLimit: settings.rateLimit,
      budgetMs: settings.commandTimeoutMs,
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
      if (error instanceof CapacityError) throw new ClusterConfigError(error.message);
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
    this.#refuseWhenClosed();
    return this.#track(this.#writes.send(username, text, clientId));
  }

  delete(username: string, messageId: number): Promise<{ cursor: number }> {
    this.#refuseWhenClosed();
    return this.#track(this.#writes.delete(username, messageId));
  }

  #track<T>(write: Promise<T>): Promise<T> {
    this.#inFlight.add(write);
    const forget = () => this.#inFlight.delete(write);
    write.then(forget, forget);
    return write;
  }


  #refuseWhenClosed(): void {
    if (this.#isClosed) throw shuttingDown();
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
    const from = this.#readFrom(cursor);
    const page = changesAfter(this.ring, from, limit);
    const deleted = from === cursor ? page.deleted : page.deleted.filter((id) => id <= cursor);
    return { ...page, deleted, last: this.#newest(page.last) };
  }

  liveChangesAfter(cursor: number, limit: number): { changes: LiveChange[]; last: number; missed: boolean } {
    const standing = this.#standing(cursor);
    if (standing === 'lagging') return { changes: [], last: cursor, missed: false };
    const from = this.#readFrom(cursor);
    const page = liveChangesAfter(this.ring, from, limit);
    const changes = from === cursor ? page.changes : page.changes.filter((change) => change.kind === 'message' || change.id <= cursor);
    return { changes, last: this.#newest(page.last), missed: page.missed || standing === 'gone' };
  }

  history(before: number | undefined, limit: number): ChangeSet {
    return { ...history(this.ring, before, limit), last: this.cursor };
  }

  /**
   * Where the ring read for `cursor` starts. A ring replayed from a stream that began after
   * deleted messages has nothing below its first change, yet a cursor in between missed only
   * those messages: the read starts at the ring's first change, and the caller drops the
   * deletions of messages after the cursor (they are not news to that reader).
   */
  #readFrom(cursor: number): number {
    const oldest = this.ring.oldest;
    return cursor < oldest - 1 && cursor >= this.#follower.wholeFrom - 1 ? oldest - 1 : cursor;
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
    return this.#listeners.add(listener);
  }

  stats(): StoreStats {
    const ring = this.ring.stats();
    return {
      ring: { used: ring.used, capacity: ring.capacity, arenaUsedBytes: ring.arenaUsedBytes, arenaBytes: ring.arenaBytes },
      // No worker pool: Redis applies the writes. `queued` is the writes waiting for it.
      pool: { queued: this.#inFlight.size, utilization: 0, threads: 0, completed: 0 },
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
    await Promise.allSettled([...this.#inFlight]);
    this.#follower.stop();
    await this.#link.close();
    await this.#follower.stopped;
  }
}
