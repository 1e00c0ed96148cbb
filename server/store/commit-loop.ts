// The primary thread's commit loop: journals everything the workers wrote to the ring beyond
// what is on disk, with one fsync for all of it (group commit), then publishes it so readers may
// see it, hands it to the live subscribers, and resolves the writers waiting for it. It also
// keeps the journal from outgrowing the ring (compaction).
//
//   ring seqs:  ... journaled = PUBLISHED | written by workers, not on disk yet | HEAD
//                                         └──────── the next round ──────────┘
//
// Nothing is acknowledged or visible before it is durable. Writers never evict a change above
// PUBLISHED (server/ring-buffer.ts, keepUnpublished), so a round always finds every change it
// has to journal; were one missing anyway, its writer is refused rather than told it succeeded.
//
// A change in the ring cannot be taken back, so when the disk refuses a round (full, a quota)
// its writers are not refused: that would be a lie, as the next round journals the same
// changes. The round is retried with a backoff until the disk takes it, and the writers are
// answered then; meanwhile `failure` is set, so the store refuses new writes before they reach
// the ring, and health says the node cannot write. Only a journal broken for good (a failed
// fsync: journal.ts) or a shutdown ends the wait with a refusal, and then truthfully: nothing
// above the journal's end is ever published.
import { ApiError } from '../errors.js';
import type { Journal } from '../journal.js';
import type { Snapshot } from '../journal-snapshot.js';
import type { Change, RingBuffer } from '../ring-buffer.js';
import { forJournal } from './journal-records.js';

export interface CommitLoopOptions {
  ring: RingBuffer;
  /** null: memory only; changes are published at once. */
  journal: Journal | null;
  /** Called with every round's changes, in seq order, once they are durable and published. */
  onPublished(changes: Change[]): void;
  /**
   * Writes what the ring retains up to `upTo` as a compaction snapshot at `path`
   * (journal-records.ts, journal-snapshot.ts): on a worker thread when the store has a pool.
   */
  writeSnapshot(path: string, upTo: number): Promise<Snapshot>;
  onError(event: string, error: unknown): void;
  /** The journal takes writes again after `failedForMs` of refusing them. */
  onRecovered(failedForMs: number): void;
}

interface Waiter {
  seq: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * Journal bytes a retained change may take beyond its strings (frame header, JSON field names,
 * numbers), to estimate how large a compacted journal can be.
 */
const RECORD_OVERHEAD_BYTES = 128;

/** First and longest pause before a round the disk refused is tried again. */
const RETRY_FIRST_MS = 50;
const RETRY_MAX_MS = 2_000;

export class CommitLoop {
  readonly #ring: RingBuffer;
  readonly #journal: Journal | null;
  readonly #onPublished: (changes: Change[]) => void;
  readonly #writeSnapshot: (path: string, upTo: number) => Promise<Snapshot>;
  readonly #onError: (event: string, error: unknown) => void;
  readonly #onRecovered: (failedForMs: number) => void;
  /** Highest seq on disk; the ring may hold more (written by a worker, not yet journaled). */
  #journaled: number;
  #committing: Promise<boolean> | null = null;
  #waiters: Waiter[] = [];
  /** The journal's size right after its last compaction. */
  #compactedBytes = 0;
  /** Why the journal refuses writes, and since when; null while it takes them. */
  #failure: { error: Error; sinceMs: number } | null = null;
  #isStopping = false;
  #wakeRetry: (() => void) | null = null;

  constructor(options: CommitLoopOptions) {
    this.#ring = options.ring;
    this.#journal = options.journal;
    this.#onPublished = options.onPublished;
    this.#writeSnapshot = options.writeSnapshot;
    this.#onError = options.onError;
    this.#onRecovered = options.onRecovered;
    this.#journaled = options.ring.head;
  }

  /**
   * Why the journal refuses writes right now (it may take them again: see `isBroken`), or null.
   * Writes that reach the ring meanwhile are stored once it does.
   */
  get failure(): Error | null {
    return this.#journal?.broken ?? this.#failure?.error ?? null;
  }

  /** The journal will take nothing more until a restart. */
  get isBroken(): boolean {
    return this.#journal?.broken != null;
  }

  /** Resolves once `seq` is on disk and published; rejects (UNAVAILABLE) if it cannot be. */
  durable(seq: number): Promise<void> {
    if (seq <= this.#ring.published) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#waiters.push({ seq, resolve, reject });
      void this.commit();
    });
  }

  /**
   * Journals and publishes everything written to the ring so far. One run at a time; writes
   * that land meanwhile are taken by the next round, which is what makes the fsync a group
   * commit. Resolves false when the journal broke for good or the loop was stopped (the writes
   * not on disk were refused).
   */
  commit(): Promise<boolean> {
    if (this.#committing) return this.#committing;
    const rounds = this.#commitRounds().then((caughtUp) => {
      this.#committing = null;
      // A write that asked for a commit after the last round's check is picked up here.
      return caughtUp && this.#ring.head > this.#journaled ? this.commit() : caughtUp;
    });
    this.#committing = rounds;
    return rounds;
  }

  /**
   * Rewrites the journal to what the ring still holds once it has grown well past that: more
   * than twice the ring's slots in records, or more than twice the larger of what the ring can
   * hold and what the last compaction left, in bytes. Bytes matter as much as records: with
   * long texts a record count alone would let the journal reach gigabytes behind a 64 MiB ring.
   * Commits go on meanwhile (journal.ts: the snapshot is written beside them); a failure is
   * reported and leaves the old journal in use.
   */
  async compactIfLarge(): Promise<void> {
    const journal = this.#journal;
    if (journal === null) return;
    const ringBytes = this.#ring.arenaBytes + this.#ring.capacity * RECORD_OVERHEAD_BYTES;
    const tooManyRecords = journal.recordCount > 2 * this.#ring.capacity;
    const tooManyBytes = journal.sizeBytes > 2 * Math.max(ringBytes, this.#compactedBytes);
    if (!tooManyRecords && !tooManyBytes) return;
    // Called between rounds, so everything up to #journaled is in the journal and nothing more.
    const upTo = this.#journaled;
    try {
      await journal.compact(async (path) => {
        const snapshot = await this.#writeSnapshot(path, upTo);
        // What was retained, not the tail appended meanwhile: counting that would raise the bar
        // for the next compaction with every busy one.
        this.#compactedBytes = snapshot.bytes;
        return snapshot;
      });
    } catch (error) {
      this.#onError('journal-compaction-failed', error);
      return;
    }
    // Under a burst the tail appended during the rewrite can be large again. Check once more
    // between rounds, as compaction must be: a commit with nothing to write ends in that check.
    void this.commit();
  }

  /**
   * Ends a wait for the disk (shutdown): writers not on disk yet are refused, as the process is
   * about to exit without publishing them. Commits that succeed are unaffected.
   */
  stop(): void {
    this.#isStopping = true;
    this.#wakeRetry?.();
  }

  async #commitRounds(): Promise<boolean> {
    let retryMs = RETRY_FIRST_MS;
    while (this.#ring.head > this.#journaled) {
      const head = this.#ring.head;
      const { changes, missed } = this.#ring.readChanges(this.#journaled, Number.MAX_SAFE_INTEGER, head);
      if (missed) this.#refuseLost(changes[0]?.seq ?? head + 1);
      try {
        if (this.#journal) await this.#journal.append(changes.map(forJournal));
      } catch (error) {
        if (this.#failure === null) {
          this.#failure = { error: error as Error, sinceMs: Date.now() };
          this.#onError('journal-append-failed', error);
        }
        if (this.isBroken || this.#isStopping) {
          this.#refuseUnjournaled();
          return false;
        }
        await this.#pause(retryMs);
        retryMs = Math.min(2 * retryMs, RETRY_MAX_MS);
        continue;
      }
      if (this.#failure !== null) {
        this.#onRecovered(Date.now() - this.#failure.sinceMs);
        this.#failure = null;
        retryMs = RETRY_FIRST_MS;
      }
      this.#journaled = head;
      this.#ring.publish(head);
      this.#onPublished(changes);
      this.#settleWaiters(head);
    }
    void this.compactIfLarge();
    return true;
  }

  // A pause that stop() cuts short.
  async #pause(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wakeRetry = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#wakeRetry = null;
  }

  // Nothing above #journaled will be published by this process: every writer waiting for it
  // hears so, and nothing was stored.
  #refuseUnjournaled(): void {
    const refusal = this.isBroken
      ? new ApiError('UNAVAILABLE', 'the server can no longer save to disk and must be restarted; that was not stored', { retryAfter: 30 })
      : new ApiError('SHUTTING_DOWN', 'the server is shutting down and could not save that to disk; it was not stored, send it again', {
          retryAfter: 5,
        });
    this.#settleWaiters(Number.MAX_SAFE_INTEGER, refusal);
  }

  // Changes after #journaled and before `firstKept` were evicted before they reached the disk.
  // keepUnpublished rules this out; should it happen anyway, their writers hear the truth.
  #refuseLost(firstKept: number): void {
    const lost = new Error(`changes ${this.#journaled + 1} to ${firstKept - 1} were evicted from the ring before they were journaled`);
    this.#onError('unjournaled-changes-evicted', lost);
    this.#settleWaiters(
      firstKept - 1,
      new ApiError('UNAVAILABLE', 'the server was too busy to store that; please send it again', { retryAfter: 1 }),
    );
  }

  /** Resolves (or rejects with `error`) every waiter for a seq up to `upTo`. */
  #settleWaiters(upTo: number, error?: Error): void {
    const still: Waiter[] = [];
    for (const waiter of this.#waiters) {
      if (waiter.seq > upTo) still.push(waiter);
      else if (error) waiter.reject(error);
      else waiter.resolve();
    }
    this.#waiters = still;
  }
}
