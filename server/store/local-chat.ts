// The single-node chat store: the shared-memory ring, the journal behind it, the Piscina pool
// that applies writes, and the sessions. Implements `Chat` for the edges.
//
// A write's path: send() queues it -> once per event-loop turn the queued writes go to a
// worker as one task, which validates them and appends them to the ring (server/workers/) ->
// the commit loop here journals everything the ring holds beyond what is on disk, with one
// fsync for all of it (group commit) -> publishes it, so readers may see it -> tells live
// subscribers -> resolves the senders. Nothing is acknowledged or visible before it is durable.
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { checkUsername } from '../../protocol/username.js';
import { MAX_CLIENT_ID_LENGTH } from '../../protocol/limits.js';
import type { ChangeSet, ChatMessage } from '../../protocol/message.js';
import type { Chat, LiveChange, SendResult, Session, StoreStats } from '../chat/chat.js';
import { ApiError, unwrapOutcome } from '../errors.js';
import { Journal } from '../journal.js';
import { RingBuffer, type Change } from '../ring-buffer.js';
import { applyWrites, type WriteOp, type WriteOutcome } from './apply-writes.js';
import { RateLimiter } from './rate-limiter.js';
import { hashToken } from '../chat/session-token.js';
import { changesAfter, history, liveChangesAfter, resetPage, toChatMessage, toLiveChange } from './ring-reads.js';
import { SessionStore } from './sessions.js';

export interface LocalChatOptions {
  /** null: memory only. */
  dataDir: string | null;
  capacity: number;
  arenaBytes: number;
  /** 0 applies writes on the primary thread. */
  workers: number;
  rateLimit: number;
  onFsync?: (seconds: number, records: number) => void;
  onError?: (event: string, error: unknown) => void;
}

interface Waiter {
  seq: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

interface QueuedWrite {
  op: WriteOp;
  resolve: (outcome: WriteOutcome) => void;
}

const TASK_FILE = fileURLToPath(new URL('../workers/store-task.js', import.meta.url));

export class LocalChat implements Chat {
  readonly ring: RingBuffer;
  readonly pool: Piscina | null;
  /** What the start found on disk: changes replayed, and bytes of a torn tail dropped. */
  recovery = { replayed: 0, truncatedBytes: 0 };
  readonly #journal: Journal | null;
  readonly #sessions: SessionStore;
  readonly #limiter: RateLimiter;
  readonly #listeners = new Set<(change: LiveChange) => void>();
  readonly #sessionEndedListeners = new Set<(tokenHash: string) => void>();
  readonly #onError: (event: string, error: unknown) => void;
  /** user + clientId -> id of the message it created, for idempotent retries. */
  readonly #sentByClientId = new Map<string, number>();
  readonly #maxClientIds: number;
  /** Sends with a clientId that are not durable yet. */
  readonly #pendingClientIds = new Map<string, Promise<ChatMessage>>();

  #queue: QueuedWrite[] = [];
  #flushScheduled = false;
  #tasksInFlight = 0;
  /** Highest seq on disk; the ring may hold more (written by a worker, not yet journaled). */
  #journaled: number;
  #committing: Promise<void> | null = null;
  #waiters: Waiter[] = [];
  #closed = false;

  private constructor(
    ring: RingBuffer,
    pool: Piscina | null,
    journal: Journal | null,
    sessions: SessionStore,
    options: LocalChatOptions,
  ) {
    this.ring = ring;
    this.pool = pool;
    this.#journal = journal;
    this.#sessions = sessions;
    this.#limiter = new RateLimiter(options.rateLimit);
    this.#onError = options.onError ?? (() => {});
    this.#maxClientIds = options.capacity;
    this.#journaled = ring.head;
  }

  static async open(options: LocalChatOptions): Promise<LocalChat> {
    const ring = RingBuffer.create({ capacity: options.capacity, arenaBytes: options.arenaBytes });
    let journal: Journal | null = null;
    const replayed: Change[] = [];
    let truncatedBytes = 0;
    if (options.dataDir !== null) {
      const opened = await Journal.open(options.dataDir, { onFsync: options.onFsync });
      journal = opened.journal;
      truncatedBytes = opened.truncatedBytes;
      for (const change of opened.records) {
        ring.restore(change);
        replayed.push(change);
      }
    }
    ring.publish(ring.head);
    const sessions = await SessionStore.open(options.dataDir);
    const pool =
      options.workers > 0
        ? new Piscina({
            filename: TASK_FILE,
            workerData: { ring: ring.buffer },
            minThreads: options.workers,
            maxThreads: options.workers,
            idleTimeout: Number.POSITIVE_INFINITY,
          })
        : null;
    const chat = new LocalChat(ring, pool, journal, sessions, options);
    chat.recovery = { replayed: replayed.length, truncatedBytes };
    for (const change of replayed) {
      if (change.kind === 'message' && change.clientId !== null) chat.#rememberClientId(change.user, change.clientId, change.seq);
    }
    if (journal !== null && journal.recordCount > 2 * options.capacity) await chat.#compact();
    return chat;
  }

  // --- sessions -------------------------------------------------------------------------

  async login(username: unknown): Promise<Session> {
    const check = checkUsername(username);
    if (!check.ok) throw new ApiError('INVALID_USERNAME', check.message);
    const token = await this.#sessions.create(check.username);
    return { token, username: check.username };
  }

  async lookup(token: string): Promise<Session | undefined> {
    const session = this.#sessions.get(token);
    return session && { token, username: session.username };
  }

  async logout(token: string): Promise<void> {
    await this.#sessions.remove(token);
    const hash = hashToken(token);
    for (const listener of this.#sessionEndedListeners) listener(hash);
  }

  onSessionEnded(listener: (tokenHash: string) => void): () => void {
    this.#sessionEndedListeners.add(listener);
    return () => this.#sessionEndedListeners.delete(listener);
  }

  // --- writes ---------------------------------------------------------------------------

  async send(username: string, text: unknown, clientId: unknown): Promise<SendResult> {
    this.#refuseWhenClosed();
    if (typeof text !== 'string') throw new ApiError('BAD_REQUEST', 'text must be a string');
    if (clientId !== undefined && clientId !== null) {
      if (typeof clientId !== 'string' || clientId.length === 0 || clientId.length > MAX_CLIENT_ID_LENGTH) {
        throw new ApiError('BAD_REQUEST', `clientId must be a string of 1 to ${MAX_CLIENT_ID_LENGTH} characters`);
      }
      const key = clientKey(username, clientId);
      const original = this.#sentByClientId.get(key);
      if (original !== undefined) return { message: await this.#originalMessage(original, username, text), duplicate: true };
      // A retry racing its original waits for it instead of writing a second copy.
      const pending = this.#pendingClientIds.get(key);
      if (pending) return { message: await pending, duplicate: true };
    }
    const waitSeconds = this.#limiter.take(username);
    if (waitSeconds > 0) {
      throw new ApiError('RATE_LIMITED', `you are sending too fast; wait ${waitSeconds} s and try again`, {
        retryAfter: waitSeconds,
      });
    }
    const timeMs = Date.now();
    const id = typeof clientId === 'string' ? clientId : null;
    const write = this.#write({ kind: 'send', user: username, text, clientId: id, timeMs }).then((value) => ({
      id: value.seq,
      user: username,
      text: value.text ?? text,
      time: new Date(timeMs).toISOString(),
    }));
    if (id === null) return { message: await write, duplicate: false };

    const key = clientKey(username, id);
    this.#pendingClientIds.set(key, write);
    try {
      const message = await write;
      this.#rememberClientId(username, id, message.id);
      return { message, duplicate: false };
    } finally {
      this.#pendingClientIds.delete(key);
    }
  }

  async delete(username: string, messageId: number): Promise<{ cursor: number }> {
    this.#refuseWhenClosed();
    if (!Number.isSafeInteger(messageId) || messageId < 1) {
      throw new ApiError('NOT_FOUND', `there is no message ${String(messageId)}; ids are positive whole numbers`);
    }
    const { seq } = await this.#write({ kind: 'delete', user: username, messageId, timeMs: Date.now() });
    return { cursor: seq };
  }

  /** Queues a write; resolves when it is durable and published. */
  async #write(op: WriteOp): Promise<{ seq: number; text?: string }> {
    const outcome = await new Promise<WriteOutcome>((resolve) => {
      this.#queue.push({ op, resolve });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    });
    const value = unwrapOutcome(outcome);
    await this.#durable(value.seq);
    return value;
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length === 0) return;
    this.#tasksInFlight++;
    const ops = batch.map((queued) => queued.op);
    const run: Promise<WriteOutcome[]> = this.pool ? this.pool.run(ops) : Promise.resolve().then(() => applyWrites(this.ring, ops));
    run
      .then(
        (outcomes) => batch.forEach((queued, i) => queued.resolve(outcomes[i]!)),
        (error: unknown) => {
          this.#onError('store-task-failed', error);
          const failed: WriteOutcome = { ok: false, code: 'UNAVAILABLE', message: 'the server could not store that; please try again' };
          batch.forEach((queued) => queued.resolve(failed));
        },
      )
      .finally(() => {
        this.#tasksInFlight--;
        void this.#commit();
      });
  }

  #durable(seq: number): Promise<void> {
    if (seq <= this.ring.published) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#waiters.push({ seq, resolve, reject });
      void this.#commit();
    });
  }

  /**
   * Journals and publishes everything written to the ring but not yet on disk. One call runs
   * at a time; writes that land meanwhile are picked up by the next round, which is what makes
   * the fsync a group commit.
   */
  #commit(): Promise<void> {
    if (this.#committing) return this.#committing;
    const rounds = this.#commitRounds().then((caughtUp) => {
      this.#committing = null;
      // A write that asked for a commit after the last round's check is picked up here.
      if (caughtUp && this.ring.head > this.#journaled) void this.#commit();
    });
    this.#committing = rounds;
    return rounds;
  }

  /** Returns false when the journal failed (the writes of that round were refused). */
  async #commitRounds(): Promise<boolean> {
    while (this.ring.head > this.#journaled) {
      const head = this.ring.head;
      const { changes } = this.ring.readChanges(this.#journaled, Number.MAX_SAFE_INTEGER, head);
      try {
        if (this.#journal) await this.#journal.append(changes.map(forJournal));
      } catch (error) {
        this.#onError('journal-append-failed', error);
        const refusal = new ApiError('UNAVAILABLE', 'the server could not save that to disk; please try again in a moment', {
          retryAfter: 5,
        });
        this.#rejectWaiters(head, refusal);
        return false;
      }
      this.#journaled = head;
      this.ring.publish(head);
      this.#announce(changes);
      this.#resolveWaiters(head);
    }
    try {
      if (this.#journal && this.#journal.recordCount > 2 * this.ring.capacity) await this.#compact();
    } catch (error) {
      this.#onError('journal-compaction-failed', error);
    }
    return true;
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

  #resolveWaiters(upTo: number): void {
    const still: Waiter[] = [];
    for (const waiter of this.#waiters) {
      if (waiter.seq <= upTo) waiter.resolve();
      else still.push(waiter);
    }
    this.#waiters = still;
  }

  #rejectWaiters(upTo: number, error: Error): void {
    const still: Waiter[] = [];
    for (const waiter of this.#waiters) {
      if (waiter.seq <= upTo) waiter.reject(error);
      else still.push(waiter);
    }
    this.#waiters = still;
  }

  /** Rewrites the journal to what the ring still holds; deleted texts are not kept. */
  async #compact(): Promise<void> {
    const { changes } = this.ring.readChanges(this.ring.oldest - 1, Number.MAX_SAFE_INTEGER, this.#journaled);
    await this.#journal!.compact(
      changes.map((change) => (change.kind === 'message' && change.deletedAt !== 0 ? { ...forJournal(change), text: '' } : forJournal(change))),
    );
  }

  async #originalMessage(seq: number, username: string, text: string): Promise<ChatMessage> {
    await this.#durable(seq);
    const change = this.ring.readMessage(seq, this.ring.published);
    // Evicted from memory long ago: the id and author are what matter to the retrying client.
    return change ? toChatMessage(change) : { id: seq, user: username, text, time: new Date(0).toISOString() };
  }

  #rememberClientId(user: string, clientId: string, seq: number): void {
    this.#sentByClientId.set(clientKey(user, clientId), seq);
    if (this.#sentByClientId.size > this.#maxClientIds) {
      this.#sentByClientId.delete(this.#sentByClientId.keys().next().value!);
    }
  }

  #refuseWhenClosed(): void {
    if (this.#closed) throw new ApiError('SHUTTING_DOWN', 'the server is shutting down; try again in a few seconds', { retryAfter: 5 });
  }

  // --- reads (primary thread, straight from shared memory) -------------------------------

  get cursor(): number {
    return this.ring.published;
  }

  // One node's sequence only grows while its journal lasts, so a cursor past the newest change
  // comes from an earlier history (a --memory restart, a wiped data folder): start over.
  changesAfter(cursor: number, limit: number): ChangeSet {
    if (cursor > this.cursor) return resetPage(this.ring, limit);
    return changesAfter(this.ring, cursor, limit);
  }

  liveChangesAfter(cursor: number, limit: number): { changes: LiveChange[]; last: number; missed: boolean } {
    if (cursor > this.cursor) return { changes: [], last: this.cursor, missed: true };
    return liveChangesAfter(this.ring, cursor, limit);
  }

  history(before: number | undefined, limit: number): ChangeSet {
    return history(this.ring, before, limit);
  }

  subscribe(listener: (change: LiveChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get subscriberCount(): number {
    return this.#listeners.size;
  }

  stats(): StoreStats {
    const ring = this.ring.stats();
    return {
      ring: { used: ring.used, capacity: ring.capacity, arenaUsedBytes: ring.arenaUsedBytes, arenaBytes: ring.arenaBytes },
      pool: this.pool
        ? { queued: this.pool.queueSize, utilization: this.pool.utilization, threads: this.pool.threads.length }
        : { queued: 0, utilization: 0, threads: 0 },
    };
  }

  async isHealthy(): Promise<boolean> {
    if (this.#closed) return false;
    if (this.pool === null) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 2000)));
    try {
      return await Promise.race([this.pool.run([]).then(() => true, () => false), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#queue.length > 0) this.#flush();
    while (this.#tasksInFlight > 0 || this.#committing) {
      await (this.#committing ?? new Promise((resolve) => setImmediate(resolve)));
    }
    await this.#commit();
    await this.#journal?.close();
    await this.#sessions.close();
    await this.pool?.destroy();
  }
}

function clientKey(user: string, clientId: string): string {
  return `${user}\u0000${clientId}`;
}

/** A deletion is its own journal record; the message record always says "not deleted". */
function forJournal(change: Change): Change {
  return change.kind === 'message' && change.deletedAt !== 0 ? { ...change, deletedAt: 0 } : change;
}
