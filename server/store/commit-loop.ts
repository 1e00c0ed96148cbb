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

export class CommitLoop {
  readonly #ring: RingBuffer;
  readonly #journal: Journal | null;
  readonly #onPublished: (changes: Change[]) => void;
  readonly #writeSnapshot: (path: string, upTo: number) => Promise<Snapshot>;
  readonly #onError: (event: string, error: unknown) => void;
  /** Highest seq on disk; the ring may hold more (written by a worker, not yet journaled). */
  #journaled: number;
  #committing: Promise<boolean> | null = null;
  #waiters: Waiter[] = [];
  /** The journal's size right after its last compaction. */
  #compactedBytes = 0;

  constructor(options: CommitLoopOptions) {
    this.#ring = options.ring;
    this.#journal = options.journal;
    this.#onPublished = options.onPublished;
    this.#writeSnapshot = options.writeSnapshot;
    this.#onError = options.onError;
    this.#journaled = options.ring.head;
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
   * commit. Resolves false when the journal failed (the writes of that round were refused).
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
      await journal.compact((path) => this.#writeSnapshot(path, upTo));
      this.#compactedBytes = journal.sizeBytes;
    } catch (error) {
      this.#onError('journal-compaction-failed', error);
    }
  }

  async #commitRounds(): Promise<boolean> {
    while (this.#ring.head > this.#journaled) {
      const head = this.#ring.head;
      const { changes, missed } = this.#ring.readChanges(this.#journaled, Number.MAX_SAFE_INTEGER, head);
      if (missed) this.#refuseLost(changes[0]?.seq ?? head + 1);
      try {
        if (this.#journal) await this.#journal.append(changes.map(forJournal));
      } catch (error) {
        this.#onError('journal-append-failed', error);
        const refusal = new ApiError('UNAVAILABLE', 'the server could not save that to disk; please try again in a moment', {
          retryAfter: 5,
        });
        this.#settleWaiters(head, refusal);
        return false;
      }
      this.#journaled = head;
      this.#ring.publish(head);
      this.#onPublished(changes);
      this.#settleWaiters(head);
    }
    void this.compactIfLarge();
    return true;
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
