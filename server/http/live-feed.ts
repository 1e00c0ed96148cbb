// One subscription to the chat for the whole HTTP edge, fanned out to every SSE stream and
// waiting long-poll, plus the clock of their heartbeats and the end of a session's clients
// when that session ends (chat.onSessionEnded: a logout on any connection or cluster node).
// Changes arrive in batches (server/chat/subscribe-in-batches.ts): each change is serialised
// once for all streams, each stream gets one write per batch, and a burst of sends wakes a
// long-poll once instead of once per message.
//
// Relies on the chat publishing a change only once reads can return it (LocalChat publishes,
// then announces): a stream that catches up by reading and then turns live misses nothing.
import type { Chat, LiveChange } from '../chat/chat.js';
import { subscribeInBatches } from '../chat/subscribe-in-batches.js';
import { changeEvent } from './sse-format.js';

export type EndReason = 'shutdown' | 'logout';

/** An SSE stream or a waiting long-poll. */
export interface LiveClient {
  /** hashToken() of the session it was opened with: stores announce ended sessions by hash. */
  readonly tokenHash: string;
  deliver(batch: LiveBatch): void;
  heartbeat(): void;
  end(reason: EndReason): void;
}

/** Changes published together, oldest first. */
export class LiveBatch {
  readonly changes: readonly LiveChange[];
  readonly lastCursor: number;
  #events: string[] | undefined;
  #allEvents: Buffer | undefined;

  constructor(changes: readonly LiveChange[]) {
    this.changes = changes;
    this.lastCursor = changes[changes.length - 1]!.cursor;
  }

  /**
   * The SSE bytes of the changes after `cursor` (null when it has them all). Streams that are
   * behind all of them, nearly every one, share one Buffer encoded once.
   */
  bytesAfter(cursor: number): Buffer | null {
    if (cursor >= this.lastCursor) return null;
    this.#events ??= this.changes.map(changeEvent);
    if (cursor < this.changes[0]!.cursor) return (this.#allEvents ??= Buffer.from(this.#events.join('')));
    let text = '';
    for (let i = 0; i < this.changes.length; i++) {
      if (this.changes[i]!.cursor > cursor) text += this.#events[i];
    }
    return Buffer.from(text);
  }
}

export class LiveFeed {
  readonly #clients = new Set<LiveClient>();
  readonly #unsubscribe: () => void;
  readonly #unsubscribeSessions: () => void;
  readonly #heartbeat: NodeJS.Timeout;

  constructor(chat: Chat, heartbeatMs: number) {
    this.#unsubscribe = subscribeInBatches(chat, (changes) => this.#deliver(changes));
    this.#unsubscribeSessions = chat.onSessionEnded((tokenHash) => this.#endSession(tokenHash));
    this.#heartbeat = setInterval(() => {
      for (const client of this.#clients) client.heartbeat();
    }, heartbeatMs);
    this.#heartbeat.unref();
  }

  add(client: LiveClient): void {
    this.#clients.add(client);
  }

  delete(client: LiveClient): void {
    this.#clients.delete(client);
  }

  endAll(reason: EndReason): void {
    for (const client of this.#clients) client.end(reason);
  }

  close(): void {
    this.#unsubscribe();
    this.#unsubscribeSessions();
    clearInterval(this.#heartbeat);
  }

  #endSession(tokenHash: string): void {
    // A client may end itself while being ended; Set iteration allows that.
    for (const client of this.#clients) if (client.tokenHash === tokenHash) client.end('logout');
  }

  #deliver(changes: LiveChange[]): void {
    if (this.#clients.size === 0) return;
    const batch = new LiveBatch(changes);
    // A client may end itself while being delivered to; Set iteration allows that.
    for (const client of this.#clients) client.deliver(batch);
  }
}
