// What the server has written to one TCP client and the client has not read yet. Node keeps
// every socket.write() the kernel cannot take, without limit, so a client that sends requests
// and never reads the replies, or subscribes and never reads, would grow the server's memory
// until it falls over. The outbox measures whether the client reads, over time:
//
//   unread bytes ─┬─ up to MAX_UNREAD_BYTES ............ fine
//                 ├─ over it: "full" ...................... the connection stops reading requests
//                 │                                         and holds replies back (connection.ts);
//                 │                                         pushes still go out
//                 │    └ and no byte taken for STALL_TIMEOUT_MS → cut off ('stalled')
//                 └─ over MAX_UNREAD_BYTES_HARD ........... cut off at once ('over-hard-limit')
//
// Progress, not the instantaneous buffer, decides: one commit may announce megabytes to every
// subscriber in one synchronous loop, and a client that reads them must keep its connection.
// "Taken" is what the kernel accepted (#progress() says how it is measured); it stops growing
// once the client's receive window and our send buffer are full.
import type { Socket } from 'node:net';
import { MAX_UNREAD_BYTES } from '../../protocol/limits.js';

// MAX_UNREAD_BYTES (protocol/limits.ts, shared with the SSE edge): unread bytes above which a
// client counts as behind (its requests wait).

/** Unread bytes no client is allowed, reading or not. */
export const MAX_UNREAD_BYTES_HARD = 64 * 1024 * 1024;
/** How long a client that is behind may take nothing at all before it is cut off. */
export const STALL_TIMEOUT_MS = 5_000;

/** Why a client was cut off: it took nothing for STALL_TIMEOUT_MS while behind, or it let more than MAX_UNREAD_BYTES_HARD pile up. */
export type CutReason = 'stalled' | 'over-hard-limit';

export interface OutboxEvents {
  /** The client read everything it was sent. */
  onDrain(): void;
  /** The client was cut off; the outbox writes nothing more. */
  onCut(reason: CutReason, unreadBytes: number): void;
}

export class Outbox {
  readonly #socket: Socket;
  readonly #events: OutboxEvents;
  #stallTimer: NodeJS.Timeout | null = null;
  #progressAtLastCheck = '';
  #roomWaiters: Array<() => void> = [];
  #isCut = false;

  constructor(socket: Socket, events: OutboxEvents) {
    this.#socket = socket;
    this.#events = events;
    socket.on('drain', () => {
      this.#stopWatching();
      this.#wakeWaiters();
      this.#events.onDrain();
    });
    socket.once('close', () => {
      this.#stopWatching();
      this.#wakeWaiters();
    });
  }

  get isFull(): boolean {
    return this.#socket.writableLength > MAX_UNREAD_BYTES;
  }

  get isCut(): boolean {
    return this.#isCut;
  }

  write(frame: string | Buffer): void {
    if (this.#isCut || this.#socket.destroyed || !this.#socket.writable) return;
    this.#socket.write(frame);
    const unread = this.#socket.writableLength;
    if (unread > MAX_UNREAD_BYTES_HARD) this.#cut('over-hard-limit');
    else if (unread > MAX_UNREAD_BYTES && this.#stallTimer === null) this.#watch();
  }

  /** Resolves once the client has read what it was sent, or the connection is gone. */
  room(): Promise<void> {
    if (!this.isFull || this.#isCut || this.#socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => this.#roomWaiters.push(resolve));
  }

  /**
   * Ends the connection once the client has taken everything it was sent, however slowly: a
   * client that shut its sending side may still be reading a large last reply through a slow
   * pipe. One that takes nothing for STALL_TIMEOUT_MS is dropped, so it cannot keep the socket.
   */
  end(): void {
    this.#socket.end();
    this.#dropWhenStalled(this.#progress());
  }

  #cut(reason: CutReason): void {
    if (this.#isCut) return;
    this.#isCut = true;
    this.#stopWatching();
    this.#events.onCut(reason, this.#socket.writableLength);
    this.#wakeWaiters();
  }

  #watch(): void {
    this.#progressAtLastCheck = this.#progress();
    this.#stallTimer = setTimeout(() => {
      this.#stallTimer = null;
      if (!this.isFull || this.#isCut) return;
      if (this.#progress() === this.#progressAtLastCheck) this.#cut('stalled');
      else this.#watch();
    }, STALL_TIMEOUT_MS);
    this.#stallTimer.unref();
  }

  // Once everything is with the kernel, 'finish' follows and the socket closes by itself (its
  // reading side has ended already); until then, each check must find progress.
  #dropWhenStalled(progressBefore: string): void {
    if (this.#socket.destroyed || this.#socket.writableLength === 0) return;
    setTimeout(() => {
      const progress = this.#progress();
      if (progress === progressBefore) this.#socket.destroy();
      else this.#dropWhenStalled(progress);
    }, STALL_TIMEOUT_MS).unref();
  }

  // A mark that changes exactly when the kernel takes bytes. The bytes of completed writes
  // (bytesWritten counts queued bytes too, so the unread part is subtracted) are not enough:
  // Node hands everything buffered to libuv as one write once the last one completes, and
  // writableLength drops only when that whole write is done, so a write of tens of MB to a
  // client that reads steadily but slowly stood still for longer than STALL_TIMEOUT_MS, and
  // the client was cut off as if it had stopped. libuv's count of what the current write has
  // left (the handle's writeQueueSize, not a documented property) moves with every part taken.
  #progress(): string {
    const handle = (this.#socket as Socket & { _handle?: { writeQueueSize?: number } | null })._handle;
    return `${this.#socket.bytesWritten - this.#socket.writableLength}/${handle?.writeQueueSize ?? 0}`;
  }

  #stopWatching(): void {
    if (this.#stallTimer !== null) clearTimeout(this.#stallTimer);
    this.#stallTimer = null;
  }

  #wakeWaiters(): void {
    const waiters = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const wake of waiters) wake();
  }
}
