// Fan-out of live changes to TCP subscribers: one chat subscription for the whole listener,
// each change serialised once, however many connections receive it.
import { encodeFrame } from '../../protocol/frame-decoder.js';
import type { Push } from '../../protocol/tcp-frames.js';
import type { Chat, LiveChange } from '../chat/chat.js';

export interface Subscriber {
  deliver(frame: string, cursor: number): void;
}

export class SubscriberHub {
  readonly #subscribers = new Set<Subscriber>();
  readonly #unsubscribe: () => void;

  constructor(chat: Chat) {
    this.#unsubscribe = chat.subscribe((change) => {
      if (this.#subscribers.size === 0) return;
      const frame = encodePush(change);
      for (const subscriber of this.#subscribers) subscriber.deliver(frame, change.cursor);
    });
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
}

export function encodePush(change: LiveChange): string {
  const push: Push =
    change.kind === 'message'
      ? { event: 'message', cursor: change.cursor, message: change.message }
      : { event: 'delete', cursor: change.cursor, id: change.id };
  return encodeFrame(push);
}
