// The single-node chat store: the shared-memory ring, the journal behind it, the Piscina pool
// for the heavy work, and the sessions. Implements `Chat` for the edges; this file keeps the
// meaning of sends and deletes (validation at the edge, rate limits, idempotent retries) and
// serves reads, while its parts do the work:
//
// A write's path: send() -> the write queue (write-queue.ts) batches the writes that arrive
// while the previous batch is applied, and applies the batch to the ring (apply-writes.ts):
// inline, or on a worker thread when it carries enough text to pay for the hop -> the commit
// loop (commit-loop.ts) journals everything the ring holds beyond what is on disk, with one
// fsync for all of it (group commit) -> publishes it, so readers may see it -> tells live
// subscribers -> resolves the senders. Nothing is acknowledged or visible before it is durable.
// Journal compaction, the whole retained history re-encoded, always runs on a worker thread
// when there is a pool (server/workers/compact-task.ts).
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { checkUsername } from '../../protocol/username.js';
import type { ChangeSet, ChatMessage } from '../../protocol/message.js';
import type { Chat, EventListener, LiveChange, SendResult, Session, StoreStats } from '../chat/chat.js';
import { checkClientId } from '../chat/client-id.js';
import { Listeners } from '../chat/listeners.js';
import { hashToken } from '../chat/session-token.js';
import { ApiError, shuttingDown, unwrapOutcome } from '../errors.js';
import { Journal } from '../journal.js';
import { writeSnapshot, type Snapshot } from '../journal-snapshot.js';
import { RingBuffer, type Change } from '../ring-buffer.js';
import type { CompactTask } from '../workers/compact-task.js';
import type { WriteOp, Written } from './apply-writes.js';
import { CommitLoop } from './commit-loop.js';
import { retainedRecords } from './journal-records.js';
import { RateLimiter } from './rate-limiter.js';
import { announce, changesAfter, history, liveChangesAfter, resetPage, retriedMessage } from './ring-reads.js';
import { SessionStore } from './sessions.js';
import { WriteQueue } from './write-queue.js';

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
  onEvent?: EventListener;
}

const STORE_TASK = fileURLToPath(new URL('../workers/store-task.js', import.meta.url));
const COMPACT_TASK = fileURLToPath(new URL('../workers/compact-task.js', import.meta.url));

// Piscina loads a task file with require() first. On Node 20.19+ that is require(esm), and a
// worker terminated while it loads our ES modules that way aborts the whole process
// ("FATAL ERROR: v8::Module::IsGraphAsync", SIGABRT): a stop right after a start did that now
// and then. Without require(esm) Piscina falls back to import(), which termination does not crash.
const NO_REQUIRE_ESM = '--no-experimental-require-module';
const WORKER_EXEC_ARGV = process.allowedNodeEnvironmentFlags.has(NO_REQUIRE_ESM) ? [...process.execArgv, NO_REQUIRE_ESM] : process.execArgv;

export class LocalChat implements Chat {
  readonly ring: RingBuffer;
  readonly pool: Piscina | null;
  /** What the start found on disk: changes replayed, and bytes of a torn tail dropped. */
  recovery = { replayed: 0, truncatedBytes: 0 };
  readonly #journal: Journal | null;
  readonly #sessions: SessionStore;
  readonly #limiter: RateLimiter;
  readonly #writes: WriteQueue;
  readonly #commits: CommitLoop;
  readonly #onError: (event: string, error: unknown) => void;
  readonly #listeners: Listeners<LiveChange>;
  readonly #sessionEndedListeners: Listeners<string>;
  /** user + clientId -> id of the message it created, for idempotent retries. */
  readonly #sentByClientId = new Map<string, number>();
  readonly #maxClientIds: number;
  /** Sends with a clientId that are not durable yet. */
  readonly #pendingClientIds = new Map<string, Promise<ChatMessage>>();
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
    this.#listeners = new Listeners((error) => this.#onError('subscriber-failed', error));
    this.#sessionEndedListeners = new Listeners((error) => this.#onError('subscriber-failed', error));
    this.#maxClientIds = options.capacity;
    this.#commits = new CommitLoop({
      ring,
      journal,
      onPublished: (changes) => announce(this.#listeners, changes),
      writeSnapshot: (path, upTo) => this.#writeSnapshot(path, upTo),
      onError: this.#onError,
      onRecovered: (failedForMs) => options.onEvent?.('info', 'journal-append-recovered', { failedForMs }),
    });
    this.#writes = new WriteQueue({ ring, pool, commit: () => this.#commits.commit(), onError: this.#onError });
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
            filename: STORE_TASK,
            workerData: { ring: ring.buffer },
            minThreads: options.workers,
            maxThreads: options.workers,
            idleTimeout: Number.POSITIVE_INFINITY,
            execArgv: WORKER_EXEC_ARGV,
          })
        : null;
    const chat = new LocalChat(ring, pool, journal, sessions, options);
    chat.recovery = { replayed: replayed.length, truncatedBytes };
    for (const change of replayed) {
      if (change.kind === 'message' && change.clientId !== null) chat.#rememberClientId(change.user, change.clientId, change.seq);
    }
    await chat.#commits.compactIfLarge();
    return chat;
  }

  // --- sessions -------------------------------------------------------------------------

  async login(username: unknown): Promise<Session> {
    const check = checkUsername(username);
    if (!check.ok) throw new ApiError('INVALID_USERNAME', check.message);
    const { token, evicted } = await this.#sessions.create(check.username);
    // Its connections and streams must not go on with a session that no longer exists.
    if (evicted !== undefined) this.#sessionEndedListeners.emit(evicted);
    return { token, username: check.username };
  }

  async lookup(token: string): Promise<Session | undefined> {
    const session = this.#sessions.get(token);
    return session && { token, username: session.username };
  }

  async logout(token: string): Promise<void> {
    await this.#sessions.remove(token);
    const hash = hashToken(token);
    this.#sessionEndedListeners.emit(hash);
  }

  onSessionEnded(listener: (tokenHash: string) => void): () => void {
    return this.#sessionEndedListeners.add(listener);
  }

  // --- writes ---------------------------------------------------------------------------

  async send(username: string, text: unknown, clientId: unknown): Promise<SendResult> {
    this.#refuseWhenClosed();
    if (typeof text !== 'string') throw new ApiError('BAD_REQUEST', 'text must be a string');
    const id = checkClientId(clientId);
    if (id !== null) {
      const key = clientKey(username, id);
      const original = this.#sentByClientId.get(key);
      if (original !== undefined) return { message: await this.#originalMessage(original, username, text), duplicate: true };
      // A retry racing its original waits for it instead of writing a second copy.
      const pending = this.#pendingClientIds.get(key);
      if (pending) return { message: await pending, duplicate: true };
    }
    this.#refuseWhileDiskRefuses();
    const waitSeconds = this.#limiter.take(username);
    if (waitSeconds > 0) {
      throw new ApiError('RATE_LIMITED', `you are sending too fast; wait ${waitSeconds} s and try again`, {
        retryAfter: waitSeconds,
      });
    }
    const timeMs = Date.now();
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
    this.#refuseWhileDiskRefuses();
    const { seq } = await this.#write({ kind: 'delete', user: username, messageId, timeMs: Date.now() });
    return { cursor: seq };
  }

  /** Applies a write with the next batch; resolves when it is durable and published. */
  async #write(op: WriteOp): Promise<Written> {
    const value = unwrapOutcome(await this.#writes.apply(op));
    await this.#commits.durable(value.seq);
    return value;
  }

  // The heaviest work the store has: the whole retained history, encoded and written. With a
  // pool it runs on a worker thread while the primary goes on serving.
  #writeSnapshot(path: string, upTo: number): Promise<Snapshot> {
    if (this.pool === null) return Promise.resolve().then(() => writeSnapshot(path, retainedRecords(this.ring, upTo)));
    const task: CompactTask = { path, upTo };
    return this.pool.run(task, { filename: COMPACT_TASK }) as Promise<Snapshot>;
  }


  async #originalMessage(seq: number, username: string, text: string): Promise<ChatMessage> {
    await this.#commits.durable(seq);
    const change = this.ring.readMessage(seq, this.ring.published);
    return retriedMessage(change, seq, username, text);
  }

  #rememberClientId(user: string, clientId: string, seq: number): void {
    this.#sentByClientId.set(clientKey(user, clientId), seq);
    if (this.#sentByClientId.size > this.#maxClientIds) {
      this.#sentByClientId.delete(this.#sentByClientId.keys().next().value!);
    }
  }

  // A write that reached the ring is stored once the disk takes it (commit-loop.ts), so new
  // ones are refused before they get there, while nothing is stored yet.
  #refuseWhileDiskRefuses(): void {
    if (this.#commits.failure === null) return;
    if (this.#commits.isBroken) {
      throw new ApiError('UNAVAILABLE', 'the server can no longer save to disk and must be restarted; nothing was stored', { retryAfter: 30 });
    }
    throw new ApiError('UNAVAILABLE', 'the server cannot save to disk right now; nothing was stored, try again in a moment', { retryAfter: 5 });
  }

  #refuseWhenClosed(): void {
    if (this.#closed) throw shuttingDown();
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
    return this.#listeners.add(listener);
  }

  get subscriberCount(): number {
    return this.#listeners.size;
  }

  stats(): StoreStats {
    const ring = this.ring.stats();
    return {
      ring: { used: ring.used, capacity: ring.capacity, arenaUsedBytes: ring.arenaUsedBytes, arenaBytes: ring.arenaBytes },
      pool: this.pool
        ? { queued: this.pool.queueSize, utilization: this.pool.utilization, threads: this.pool.threads.length, completed: this.pool.completed }
        : { queued: 0, utilization: 0, threads: 0, completed: 0 },
    };
  }

  async isHealthy(): Promise<boolean> {
    if (this.#closed || this.#commits.failure !== null) return false;
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
    this.#commits.stop();
    await this.#writes.settle();
    await this.#commits.commit();
    await this.#journal?.close();
    await this.#sessions.close();
    await this.pool?.destroy();
  }
}

function clientKey(user: string, clientId: string): string {
  return `${user}\u0000${clientId}`;
}
