// Batches the single-node store's writes: every send and delete that arrives while the previous
// batch is being applied goes into the next one, and batches are applied one at a time, in
// arrival order, so two sends from one connection are stored in the order they were sent.
//
// Where a batch is applied was measured, not assumed (bench/README.md, "worker pool"): handing
// a batch to a worker thread costs the primary more than validating and appending a few dozen
// short messages itself, so light batches are applied inline; a batch carrying at least
// POOL_MIN_TEXT characters (long texts: NFC normalisation and UTF-8 encoding dominate) goes to
// the pool (server/workers/store-task.ts), which takes that work off the primary thread.
//
// A write the ring has no room for (it would evict a change that is not on disk yet) waits for
// the commit loop to catch up and is tried again, ahead of everything queued after it; if the
// journal breaks for good instead, it is refused (it never reached the ring).
import type { Piscina } from 'piscina';
import type { TaskOutcome } from '../errors.js';
import type { RingBuffer } from '../ring-buffer.js';
import { applyWrites, isNoRoom, type WriteOp, type WriteOutcome, type Written } from './apply-writes.js';

export interface WriteQueueOptions {
  ring: RingBuffer;
  /** null: apply writes on the primary thread. */
  pool: Piscina | null;
  /** Journals and publishes what the ring holds; resolves false when the journal failed. */
  commit(): Promise<boolean>;
  onError(event: string, error: unknown): void;
}

interface QueuedWrite {
  op: WriteOp;
  resolve: (outcome: TaskOutcome<Written>) => void;
}

/** Characters of text in a batch from which a worker thread applies it (see the top of the file). */
export const POOL_MIN_TEXT = 32 * 1024;

const TASK_FAILED: TaskOutcome<Written> = { ok: false, code: 'UNAVAILABLE', message: 'the server could not store that; please try again' };
// Only a journal broken for good or a shutdown ends a commit without catching up (commit-loop.ts).
const JOURNAL_FAILED: TaskOutcome<Written> = {
  ok: false,
  code: 'UNAVAILABLE',
  message: 'the server cannot save to disk any more; that was not stored',
};

export class WriteQueue {
  readonly #ring: RingBuffer;
  readonly #pool: Piscina | null;
  readonly #commit: () => Promise<boolean>;
  readonly #onError: (event: string, error: unknown) => void;
  #queue: QueuedWrite[] = [];
  #waitingForRoom: QueuedWrite[] = [];
  #flushScheduled = false;
  #isApplying = false;
  /** Callers of settle(), told when the queue next has nothing to do. */
  #settling: (() => void)[] = [];

  constructor(options: WriteQueueOptions) {
    this.#ring = options.ring;
    this.#pool = options.pool;
    this.#commit = options.commit;
    this.#onError = options.onError;
  }

  /** Applies `op` to the ring with the next batch; resolves with its outcome (not yet durable). */
  apply(op: WriteOp): Promise<TaskOutcome<Written>> {
    return new Promise((resolve) => {
      this.#queue.push({ op, resolve });
      this.#scheduleFlush();
    });
  }

  /** Resolves once nothing is queued, being applied or waiting for room (for shutdown). */
  settle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#settling.push(resolve));
  }

  #isIdle(): boolean {
    return this.#queue.length === 0 && this.#waitingForRoom.length === 0 && !this.#isApplying && !this.#flushScheduled;
  }

  #tellIfSettled(): void {
    if (this.#settling.length === 0 || !this.#isIdle()) return;
    const settling = this.#settling;
    this.#settling = [];
    for (const resolve of settling) resolve();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#flushScheduled = false;
    // One batch at a time: the next is taken when this one is applied.
    if (this.#isApplying) return;
    // Nothing overtakes a write waiting for room; it is retried with everything queued after it.
    if (this.#waitingForRoom.length > 0) return;
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length === 0) return this.#tellIfSettled();
    this.#isApplying = true;
    const ops = batch.map((queued) => queued.op);
    const run: Promise<WriteOutcome[]> =
      this.#pool !== null && textLength(ops) >= POOL_MIN_TEXT
        ? this.#pool.run(ops)
        : Promise.resolve().then(() => applyWrites(this.#ring, ops));
    run
      .then(
        (outcomes) =>
          batch.forEach((queued, i) => {
            const outcome = outcomes[i]!;
            if (isNoRoom(outcome)) this.#waitingForRoom.push(queued);
            else queued.resolve(outcome);
          }),
        (error: unknown) => {
          this.#onError('store-task-failed', error);
          batch.forEach((queued) => queued.resolve(TASK_FAILED));
        },
      )
      .finally(() => {
        this.#isApplying = false;
        if (this.#queue.length > 0) this.#scheduleFlush();
        void this.#commit().then((caughtUp) => this.#retryWaiting(caughtUp));
        this.#tellIfSettled();
      });
  }

  // Runs after a commit: everything written before it is published, so there is room again,
  // unless the journal broke for good, in which case waiting longer would not help.
  #retryWaiting(caughtUp: boolean): void {
    if (this.#waitingForRoom.length === 0) return;
    const waiting = this.#waitingForRoom;
    this.#waitingForRoom = [];
    if (!caughtUp) {
      waiting.forEach((queued) => queued.resolve(JOURNAL_FAILED));
      return this.#tellIfSettled();
    }
    this.#queue = [...waiting, ...this.#queue];
    this.#scheduleFlush();
  }
}

function textLength(ops: readonly WriteOp[]): number {
  let length = 0;
  for (const op of ops) if (op.kind === 'send' && typeof op.text === 'string') length += op.text.length;
  return length;
}
