// Keeps this node's ring a copy of the stream `parley:changes`: reads every entry after the last
// one applied (XREAD, blocking on its own connection when there is nothing new), restores it into
// the ring at its seq, publishes, and tells the chat, which tells live subscribers.
//
// One loop does all of it: on start the entries are there and XREAD answers at once (a late node
// replays whatever the stream still holds, at most about `capacity` entries); when Redis goes
// away the read fails, the loop waits for node-redis to reconnect and reads on from the same
// entry ID, so the node catches up by itself without any bookkeeping of what it missed.
//
// Seqs can skip: a deleted message's entry is removed from the stream (write-scripts.ts), and
// the ring allows gaps (restore() takes any seq above its head).
import { once } from 'node:events';
import type { Change, RingBuffer } from '../ring-buffer.js';
import type { CommandClient, EventListener } from './redis-link.js';
import { CHANGES_KEY, entryId, parseEntry, SEQ_KEY, seqOf } from './stream-entry.js';

/** Most entries applied per read: bounds one event-loop turn during a long replay. */
const BATCH = 1000;
/** How long one XREAD waits for news before asking again (and noticing a stop). */
const BLOCK_MS = 5000;
/** Pause after a read fails on a connection that is up (a reply error), so it cannot spin. */
const RETRY_MS = 1000;

interface Waiter {
  seq: number;
  resolve: (applied: boolean) => void;
  timer: NodeJS.Timeout;
}

export interface FollowerOptions {
  ring: RingBuffer;
  client: CommandClient;
  /** Called after each batch is published, with its changes in order. */
  onChanges: (changes: Change[]) => void;
  onError: (event: string, error: unknown) => void;
  onEvent: EventListener;
}

export class StreamFollower {
  readonly #ring: RingBuffer;
  readonly #client: CommandClient;
  readonly #onChanges: FollowerOptions['onChanges'];
  readonly #onError: FollowerOptions['onError'];
  readonly #onEvent: EventListener;
  #lastId: string;
  #waiters: Waiter[] = [];
  #isStopped = false;
  #loop: Promise<void> | null = null;
  #wake: (() => void) | null = null;

  constructor(options: FollowerOptions) {
    this.#ring = options.ring;
    this.#client = options.client;
    this.#onChanges = options.onChanges;
    this.#onError = options.onError;
    this.#onEvent = options.onEvent;
    this.#lastId = options.ring.head === 0 ? '0-0' : entryId(options.ring.head);
  }

  /** Applies everything the stream holds now; resolves when the ring is level with it. */
  async catchUp(): Promise<void> {
    while (await this.#readOnce(undefined)) {
      // keep reading while full batches come back
    }
  }

  /** Follows the stream from here on, until stop(). */
  start(): void {
    this.#loop ??= this.#follow();
  }

  /**
   * Resolves true once the ring has published `seq`, or false after `timeoutMs` (the write is
   * stored in Redis either way; only this node's copy is late).
   */
  waitFor(seq: number, timeoutMs: number): Promise<boolean> {
    if (seq <= this.#ring.published) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        seq,
        resolve,
        timer: setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          resolve(false);
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
    this.#wake?.();
    for (const waiter of this.#waiters) {
      clearTimeout(waiter.timer);
      waiter.resolve(false);
    }
    this.#waiters = [];
  }

  get stopped(): Promise<void> {
    return this.#loop ?? Promise.resolve();
  }

  async #follow(): Promise<void> {
    while (!this.#isStopped) {
      try {
        await this.#readOnce(BLOCK_MS);
      } catch (error) {
        if (this.#isStopped) return;
        if (this.#client.isReady) {
          this.#onError('stream-read-failed', error);
          await this.#pause(RETRY_MS);
        } else {
          await this.#untilReady();
          await this.#checkHistory();
        }
      }
    }
  }

  /** One XREAD; true when a full batch came back (more may be waiting). */
  async #readOnce(blockMs: number | undefined): Promise<boolean> {
    const reply = await this.#client.xRead({ key: CHANGES_KEY, id: this.#lastId }, blockMs === undefined ? { COUNT: BATCH } : { COUNT: BATCH, BLOCK: blockMs });
    if (this.#isStopped) return false;
    const entries = entriesOf(reply);
    this.#apply(entries);
    return entries.length === BATCH;
  }

  #apply(entries: Array<{ id: string; fields: Record<string, unknown> }>): void {
    const applied: Change[] = [];
    for (const { id, fields } of entries) {
      this.#lastId = id;
      if (seqOf(id) <= this.#ring.head) continue;
      const change = parseEntry(id, fields);
      if (change === undefined) {
        this.#onEvent('warn', 'stream-entry-skipped', { id, reason: `not a Parley change in ${CHANGES_KEY}` });
        continue;
      }
      try {
        this.#ring.restore(change);
        applied.push(change);
      } catch (error) {
        this.#onEvent('warn', 'stream-entry-skipped', { id, reason: (error as Error).message });
      }
    }
    if (applied.length === 0) return;
    this.#ring.publish(this.#ring.head);
    this.#onChanges(applied);
    this.#resolveWaiters();
  }

  #resolveWaiters(): void {
    const published = this.#ring.published;
    if (!this.#waiters.some((w) => w.seq <= published)) return;
    const still: Waiter[] = [];
    for (const waiter of this.#waiters) {
      if (waiter.seq <= published) {
        clearTimeout(waiter.timer);
        waiter.resolve(true);
      } else {
        still.push(waiter);
      }
    }
    this.#waiters = still;
  }

  /**
   * After an outage: a Redis that came back with fewer changes than this node applied lost
   * acknowledged messages (no AOF, or `appendfsync everysec` and a crash). Nothing here can
   * restore them; an operator must know (docs/deploy.md).
   */
  async #checkHistory(): Promise<void> {
    try {
      const seq = Number((await this.#client.get(SEQ_KEY)) ?? 0);
      if (seq < this.#ring.head) {
        this.#onEvent('error', 'redis-history-lost', {
          redisSeq: seq,
          appliedSeq: this.#ring.head,
          advice: 'Redis lost acknowledged changes (no AOF, or appendfsync everysec and a crash); see docs/deploy.md',
        });
      }
    } catch {
      // Down again: the next read fails and the loop comes back here.
    }
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

/** The entries of an XREAD reply on one stream ([{ name, messages: [{ id, message }] }] or null). */
function entriesOf(reply: unknown): Array<{ id: string; fields: Record<string, unknown> }> {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  const stream: unknown = reply[0];
  const messages = (stream as { messages?: unknown })?.messages;
  if (!Array.isArray(messages)) return [];
  const entries: Array<{ id: string; fields: Record<string, unknown> }> = [];
  for (const entry of messages as Array<{ id?: unknown; message?: unknown }>) {
    if (typeof entry?.id === 'string' && typeof entry.message === 'object' && entry.message !== null) {
      entries.push({ id: entry.id, fields: entry.message as Record<string, unknown> });
    }
  }
  return entries;
}
