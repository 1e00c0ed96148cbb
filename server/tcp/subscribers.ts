// Fan-out of live changes to TCP subscribers: one chat subscription for the whole listener,
// whose batches (server/chat/subscribe-in-batches.ts) go out as one Buffer encoded once and
// written to every subscriber with one write each.
//
// Why: a push is one write() per subscriber, and on loopback that system call (which also wakes
// the reader) is most of the cost: 5,000 subscribers at 20 messages/s kept the primary thread
// busy, and with a separate UTF-8 encoding of the same string per socket and a write per change
// it fell behind (bench/README.md, scenario 3b). Batching makes the fan-out self-regulating:
// when the commit loop falls behind, its next round carries more changes in the same number of
// writes.
import { encodeFrame } from '../../protocol/frame-decoder.js';
import type { Push } from '../../protocol/tcp-frames.js';
import type { Chat, LiveChange } from '../chat/chat.js';
import { subscribeInBatches } from '../chat/subscribe-in-batches.js';

export interface Subscriber {
  deliver(batch: PushBatch): void;
}

/** Pushes published together, oldest first, encoded once. */
export class PushBatch {
  readonly firstCursor: number;
  readonly lastCursor: number;
  readonly #frames: string[];
  readonly #cursors: number[];
  #bytes: Buffer | undefined;

  constructor(changes: readonly LiveChange[]) {
    this.#frames = changes.map(encodePush);
    this.#cursors = changes.map((change) => change.cursor);
    this.firstCursor = this.#cursors[0]!;
    this.lastCursor = this.#cursors[this.#cursors.length - 1]!;
  }

  /** The pushes after `cursor` (null when it has them all); shared by every subscriber behind all of them. */
  bytesAfter(cursor: number): Buffer | null {
    if (cursor >= this.lastCursor) return null;
    if (cursor < this.firstCursor) return (this.#bytes ??= Buffer.from(this.#frames.join('')));
    let text = '';
    for (let i = 0; i < this.#frames.length; i++) if (this.#cursors[i]! > cursor) text += this.#frames[i];
    return Buffer.from(text);
  }
}

export class SubscriberHub {
  readonly #subscribers = new Set<Subscriber>();
  readonly #unsubscribe: () => void;

  constructor(chat: Chat) {
    this.#unsubscribe = subscribeInBatches(chat, (changes) => this.#deliver(changes));
  }

  add(subscriber: Subscriber): void {
    this.#subscribers.add(subscriber);
  }

  remove(subscriber: Subscriber): void {
    this.#subscribers.delete(subscriber);
  }

  close(): void {
    this.#unsubscribe();
    this.#subscribers.clear();
  }

  #deliver(changes: LiveChange[]): void {
    if (this.#subscribers.size === 0) return;
    const batch = new PushBatch(changes);
    // A subscriber may leave while being delivered to; Set iteration allows that.
    for (const subscriber of this.#subscribers) subscriber.deliver(batch);
  }
}

export function encodePush(change: LiveChange): string {
  const push: Push =
    change.kind === 'message'
      ? { event: 'message', cursor: change.cursor, message: change.message }
      : { event: 'delete', cursor: change.cursor, id: change.id };
  return encodeFrame(push);
}
