// Keeps this node's ring a copy of the stream `parley:changes`: reads every entry after the last
// one applied (XREAD, blocking on its own connection when there is nothing new), restores it into
// the ring at its seq, publishes, and tells the chat, which tells live subscribers.
//
// One loop does all of it: on start the entries are there and XREAD answers at once (a late node
// replays whatever the stream still holds, at most about `capacity` entries); when Redis goes
// away the read fails, the loop waits for node-redis to reconnect, joins again (membership.ts)
// and reads on from the same entry ID, so the node catches up by itself.
//
// Seqs can skip: a deleted message's entry is removed from the stream (write-scripts.ts), and
// the ring allows gaps (restore() takes any seq above its head). Two gaps are not deletions:
// - A lost mark (Redis lost changes some node had applied). If this node applied entries above
//   the mark's `after` before its current connection, they may be what Redis lost, or ids that
//   now mean other messages: the ring is replaced by a new one replayed from the stream, so
//   every node shows exactly what Redis holds. Changes are announced once: a replay announces
//   only seqs above what was announced before.
// - A stream that starts past the entry after this node's position (Redis trimmed what the
//   node had not read, because it was away too long): recorded in the gaps, so clients behind
//   that point are told to reload instead of silently missing messages. Trimming (MAXLEN ~
//   capacity, write-scripts.ts) always keeps the last `capacity` entries, so it never reaches
//   a seq above parley:seq - capacity: a missing seq above that, or above an entry the stream
//   still holds, was deleted. A replay that begins with deleted messages is therefore whole
//   from the trim point, not only from its first entry (`wholeFrom`), and tells no one to reload.
import { once } from 'node:events';
import type { Change, RingBuffer } from '../ring-buffer.js';
import type { HistoryGaps } from './history-gaps.js';
import type { EventListener } from '../chat/chat.js';
import type { CommandClient } from './redis-link.js';
import { CHANGES_KEY, SEQ_KEY, entryId, parseEntry, seqOf, type LostMark } from './stream-entry.js';

/** Most entries applied per read: bounds one event-loop turn during a long replay. */
const BATCH = 1000;
/** Pause after a read fails on a connection that is up (a reply error), so it cannot spin. */
const RETRY_MS = 1000;

/** How a wait for one's own write ended. */
export type CopyOutcome = 'applied' | 'late' | 'lost';

interface Waiter {
  seq: number;
  resolve: (outcome: CopyOutcome) => void;
  timer: NodeJS.Timeout;
}

type Entry = { id: string; fields: Record<string, unknown> };

export interface FollowerOptions {
  ring: RingBuffer;
  client: CommandClient;
  gaps: HistoryGaps;
  /** How long one XREAD waits for news before asking again (and noticing a stop). */
  blockMs: number;
  /** Joins the cluster on `client` (membership.ts), with the highest seq this node knows of. */
  join: (client: CommandClient, head: number) => Promise<number>;
  /** Ends the blocked read of the connection with this CLIENT ID, from another connection. */
  unblock: (clientId: number) => Promise<unknown>;
  /** A new, empty ring for a rebuild. */
  newRing: () => RingBuffer;
  /** Called after each batch is published, with the changes not announced before, in order. */
  onChanges: (changes: Change[]) => void;
  onError: (event: string, error: unknown) => void;
  onEvent: EventListener;
}

export class StreamFollower {
  readonly #client: CommandClient;
  readonly #gaps: HistoryGaps;
  readonly #options: FollowerOptions;
  #ring: RingBuffer;
  #lastId: string;
  /** Highest seq applied before the current connection: those may be from a Redis that is gone. */
  #heldBeforeJoin: number;
  /** Highest seq ever announced, so a replay does not announce a change twice. */
  #announced: number;
  /** The newest lost mark a rebuild was made for: a replay reads it again, and must not rebuild again. */
  #rebuiltFor = 0;
  /** The first seq restored into the current ring (0: none yet): while it is the ring's oldest, nothing was evicted. */
  #firstApplied = 0;
  /** Where the replay into the current ring began: seqs from here to its first entry were deleted. */
  #replayWholeFrom = 1;
  #waiters: Waiter[] = [];
  #needsJoin = false;
  /** `client`'s CLIENT ID on its current connection (0: not known yet), for rejoin(). */
  #connectionId = 0;
  #isFollowing = false;
  #isStopped = false;
  #loop: Promise<void> | null = null;
  #wake: (() => void) | null = null;

  constructor(options: FollowerOptions) {
    this.#options = options;
    this.#client = options.client;
    this.#gaps = options.gaps;
    this.#ring = options.ring;
    this.#lastId = options.ring.head === 0 ? '0-0' : entryId(options.ring.head);
    this.#heldBeforeJoin = options.ring.head;
    this.#announced = options.ring.published;
    this.#client.on('error', () => {
      this.#needsJoin = true;
      this.#isFollowing = false;
    });
  }

  /** The ring readers use; replaced after a rebuild. */
  get ring(): RingBuffer {
    return this.#ring;
  }

  /**
   * The lowest seq from which the ring holds every change that still exists: its oldest change,
   * or lower while the ring still holds its whole replay and that replay began after deleted
   * messages (a cursor between the two missed nothing but those messages).
   */
  get wholeFrom(): number {
    const oldest = this.#ring.oldest;
    return this.#firstApplied !== 0 && oldest === this.#firstApplied ? Math.min(this.#replayWholeFrom, oldest) : oldest;
  }

  /** True while reading the stream live with nothing left unread that the node knew of. */
  get isFollowing(): boolean {
    return this.#isFollowing && this.#client.isReady;
  }

  /** Joins, then applies everything the stream holds now; resolves when the ring is level with it. */
  async catchUp(): Promise<void> {
    await this.#join();
    while (await this.#readOnce(undefined)) {
      // keep reading while full batches come back
    }
  }

  /** Follows the stream from here on, until stop(). */
  start(): void {
    this.#loop ??= this.#follow();
  }

  /**
   * Joins again before the next read (a write found Redis in another epoch, e.g. after a
   * FLUSHALL, which no connection notices). The read blocked now would only end with its BLOCK
   * time, and writes are refused until the join: it is ended at once (CLIENT UNBLOCK answers it
   * like a timeout).
   */
  rejoin(): void {
    this.#needsJoin = true;
    // Sent again for each refused write: one that reached Redis before the read it meant to end
    // ended nothing. A read that ends by itself will do when this fails.
    if (this.#connectionId !== 0) this.#options.unblock(this.#connectionId).catch(() => {});
  }

  /**
   * Resolves 'applied' once the ring has published `seq`, 'lost' when a lost mark says Redis
   * lost it, or 'late' after `timeoutMs` (the write is stored in Redis; only this node's copy
   * is late).
   */
  waitFor(seq: number, timeoutMs: number): Promise<CopyOutcome> {
    if (seq <= this.#ring.published) return Promise.resolve('applied');
    return new Promise((resolve) => {
      const waiter: Waiter = {
        seq,
        resolve,
        timer: setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          resolve('late');
        }, timeoutMs),
      };
      this.#waiters.push(waiter);
    });
  }

  /**
   * Stops following. A read blocked in XREAD ends when its client is closed, so the caller
   * closes the client next and then awaits `stopped`.
   */
  stop(): void {
    this.#isStopped = true;
    this.#isFollowing = false;
    this.#wake?.();
    this.#settleWaiters(() => true, 'late');
  }

  get stopped(): Promise<void> {
    return this.#loop ?? Promise.resolve();
  }

  async #follow(): Promise<void> {
    while (!this.#isStopped) {
      try {
        if (this.#needsJoin) await this.#join();
        await this.#readOnce(this.#options.blockMs);
      } catch (error) {
        this.#isFollowing = false;
        if (this.#isStopped) return;
        if (this.#client.isReady) {
          this.#options.onError('stream-read-failed', error);
          await this.#pause(RETRY_MS);
        } else {
          this.#needsJoin = true;
          await this.#untilReady();
        }
      }
    }
  }

  async #join(): Promise<void> {
    this.#needsJoin = false;
    this.#connectionId = 0;
    try {
      const [connectionId, seq] = await Promise.all([
        this.#client.clientId(),
        this.#options.join(this.#client, Math.max(this.#ring.head, this.#gaps.knownHead)),
      ]);
      this.#connectionId = connectionId;
      this.#gaps.noteSeq(seq);
    } catch (error) {
      this.#needsJoin = true;
      throw error;
    }
    this.#heldBeforeJoin = this.#ring.head;
  }

  /** One XREAD; true when more may be waiting (a full batch came back, or a rebuild began). */
  async #readOnce(blockMs: number | undefined): Promise<boolean> {
    const from = this.#lastId;
    const reply = await this.#client.xRead({ key: CHANGES_KEY, id: from }, blockMs === undefined ? { COUNT: BATCH } : { COUNT: BATCH, BLOCK: blockMs });
    if (this.#isStopped) return false;
    const entries = entriesOf(reply);
    if (entries.length > 0 && seqOf(entries[0]!.id) > seqRead(from) + 1) await this.#checkTrimmed(seqRead(from), seqOf(entries[0]!.id));
    if (this.#isStopped) return false;
    const isRebuilding = this.#apply(entries);
    this.#isFollowing = !isRebuilding && entries.length < BATCH;
    return isRebuilding || entries.length === BATCH;
  }

  /**
   * The first entry read (`firstRead`) skipped seqs: deletions, or Redis trimmed entries this
   * node never read. Trimming takes the oldest entries first and never reaches above parley:seq
   * minus the capacity, so a skipped seq at or above the stream's first entry or that bound was
   * deleted; only those below both may be trimmed. Both are read after the XREAD, so they can
   * only be higher than when it ran: a race makes the node reset a client needlessly, never
   * miss a trim. (A stream that begins with a lost mark was emptied, not trimmed: the mark
   * says what is gone.)
   */
  async #checkTrimmed(read: number, firstRead: number): Promise<void> {
    const [[first], seq] = await Promise.all([this.#client.xRange(CHANGES_KEY, '-', '+', { COUNT: 1 }), this.#client.get(SEQ_KEY)]);
    if (first !== undefined && parseEntry(first.id, first.message)?.kind === 'lost') return;
    const firstKept = Math.min(firstRead, first === undefined ? firstRead : seqOf(first.id), Math.max(1, Number(seq ?? 0) - this.#ring.capacity + 1));
    if (this.#ring.head === 0) this.#replayWholeFrom = firstKept;
    if (!(firstKept > read + 1)) return;
    this.#gaps.noteTrimmed(firstKept);
    if (read > 0) {
      this.#options.onEvent('warn', 'stream-trimmed-past-node', {
        readUpTo: read,
        firstKept,
        advice: 'this node was away while more changes than --capacity were written; clients behind it are told to reload',
      });
    }
  }

  /** Applies a batch; true when a lost mark made the node start a rebuild instead. */
  #apply(entries: Entry[]): boolean {
    const applied: Change[] = [];
    let lost: LostMark | undefined;
    for (const { id, fields } of entries) {
      this.#lastId = id;
      const seq = seqOf(id);
      if (!Number.isNaN(seq)) this.#gaps.noteSeq(seq);
      const entry = parseEntry(id, fields);
      if (entry === undefined) {
        this.#options.onEvent('warn', 'stream-entry-skipped', { id, reason: `not a Parley change in ${CHANGES_KEY}` });
        continue;
      }
      if (entry.kind === 'lost') {
        this.#gaps.noteLost(entry);
        this.#settleWaiters((w) => w.seq > entry.after && w.seq <= entry.upTo, 'lost');
        if (entry.after < this.#heldBeforeJoin && entry.seq > this.#rebuiltFor) {
          lost = entry;
          break;
        }
        continue;
      }
      if (seq <= this.#ring.head) continue;
      try {
        this.#ring.restore(entry);
        if (this.#firstApplied === 0) this.#firstApplied = seq;
        if (seq > this.#announced) applied.push(entry);
      } catch (error) {
        this.#options.onEvent('warn', 'stream-entry-skipped', { id, reason: (error as Error).message });
      }
    }
    if (lost !== undefined) {
      this.#rebuild(lost);
      return true;
    }
    if (this.#ring.head > this.#ring.published) this.#ring.publish(this.#ring.head);
    if (applied.length > 0) {
      this.#announced = applied[applied.length - 1]!.seq;
      this.#options.onChanges(applied);
    }
    this.#settleWaiters((w) => w.seq <= this.#ring.published, 'applied');
    return false;
  }

  /** Starts over with an empty ring, replayed from the stream's first entry by the next reads. */
  #rebuild(mark: LostMark): void {
    this.#options.onEvent('warn', 'ring-rebuilt', {
      lostAfter: mark.after,
      lostUpTo: mark.upTo,
      reason: 'Redis lost changes this node held; it now shows what Redis holds',
    });
    this.#rebuiltFor = mark.seq;
    this.#ring = this.#options.newRing();
    this.#firstApplied = 0;
    this.#replayWholeFrom = 1;
    this.#lastId = '0-0';
    this.#heldBeforeJoin = 0;
    this.#isFollowing = false;
  }

  #settleWaiters(matches: (waiter: Waiter) => boolean, outcome: CopyOutcome): void {
    if (!this.#waiters.some(matches)) return;
    const still: Waiter[] = [];
    for (const waiter of this.#waiters) {
      if (matches(waiter)) {
        clearTimeout(waiter.timer);
        waiter.resolve(outcome);
      } else {
        still.push(waiter);
      }
    }
    this.#waiters = still;
  }

  #untilReady(): Promise<void> {
    if (this.#client.isReady || this.#isStopped) return Promise.resolve();
    const controller = new AbortController();
    this.#wake = () => controller.abort();
    return once(this.#client, 'ready', { signal: controller.signal }).then(
      () => {},
      () => {},
    ).finally(() => (this.#wake = null));
  }

  #pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    }).finally(() => (this.#wake = null));
  }
}

/** The seq of the entry ID a read starts after ('0-0': none). */
function seqRead(id: string): number {
  return id === '0-0' ? 0 : seqOf(id);
}

/** The entries of an XREAD reply on one stream ([{ name, messages: [{ id, message }] }] or null). */
function entriesOf(reply: unknown): Entry[] {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  const stream: unknown = reply[0];
  const messages = (stream as { messages?: unknown })?.messages;
  if (!Array.isArray(messages)) return [];
  const entries: Entry[] = [];
  for (const entry of messages as Array<{ id?: unknown; message?: unknown }>) {
    if (typeof entry?.id === 'string' && typeof entry.message === 'object' && entry.message !== null) {
      entries.push({ id: entry.id, fields: entry.message as Record<string, unknown> });
    }
  }
  return entries;
}
