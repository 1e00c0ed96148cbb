// One chat subscription for a whole edge, whose changes arrive in batches: the changes published
// together (one round of the commit loop, one read from Redis) reach `onBatch` in one call as soon
// as the publisher yields. A microtask, not the next turn of the event loop, which under load
// comes only after every other socket's callbacks. The edges serialise a batch once for all their
// clients and write it to each with one write (server/tcp/subscribers.ts, server/http/live-feed.ts).
import type { Chat, LiveChange } from './chat.js';

/** Returns the unsubscribe function. */
export function subscribeInBatches(chat: Chat, onBatch: (changes: LiveChange[]) => void): () => void {
  let pending: LiveChange[] = [];
  let isFlushScheduled = false;
  const flush = () => {
    isFlushScheduled = false;
    const changes = pending;
    pending = [];
    if (changes.length > 0) onBatch(changes);
  };
  return chat.subscribe((change) => {
    pending.push(change);
    if (isFlushScheduled) return;
    isFlushScheduled = true;
    queueMicrotask(flush);
  });
}
