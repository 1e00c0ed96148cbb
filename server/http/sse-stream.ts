// One Server-Sent Events stream (GET /api/events). Two states:
//
//   catching up --(liveChangesAfter() returns nothing newer)--> live --(end / client leaves)--> closed
//
// Catching up pages through chat.liveChangesAfter() from the client's cursor, at most
// PAGE_BYTES per page, waiting for 'drain' between pages so a long backlog never piles up in
// memory; live batches that arrive meanwhile are ignored, because the next page reads them from
// the store anyway. Live, it writes each batch from the feed after its own cursor, so a change
// read while catching up and then published is never sent twice.
//
// A client that stops reading is cut off (it can reconnect with Last-Event-ID and lose
// nothing): live, once its unsent bytes pass MAX_UNREAD_BYTES; catching up, once a page has
// waited CATCH_UP_STALL_BEATS heartbeats for 'drain'.
import { MAX_UNREAD_BYTES } from '../../protocol/limits.js';
import type { Chat } from '../chat/chat.js';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import type { ClientCounts } from '../ops/client-counts.js';
import { CLIENT_CLOSED, type Exchange } from './exchange.js';
import type { EndReason, LiveBatch, LiveClient, LiveFeed } from './live-feed.js';
import { API_SECURITY_HEADERS, corsHeaders } from './respond.js';
import { HEARTBEAT, changeEvent, cursorMark, goodbyeEvent, logoutEvent, resetEvent, retryField } from './sse-format.js';

/** Changes read per page while catching up... */
const PAGE_SIZE = 500;
/**
 * ...and bytes written per page, well under MAX_UNREAD_BYTES: 500 messages of 4,000
 * characters are several MiB, and one page must never look like a client that does not read.
 */
const PAGE_BYTES = 256 * 1024;
/**
 * Heartbeats a catching-up stream may wait for one page to drain before the client counts as
 * not reading (45 to 60 s with the default heartbeat). Generous, because 'drain' comes late
 * even for a client that reads: the kernel wakes a writer only once half of its send buffer
 * (which grows to 4 MiB) has been taken, and a slow link takes a while to take 2 MiB.
 */
const CATCH_UP_STALL_BEATS = 4;
/** How long EventSource waits before reconnecting after a dropped connection. */
const RETRY_MS = 2000;
/** How long clients are told to stay away when the server shuts down. */
const SHUTDOWN_RETRY_SECONDS = 5;
const LOGOUT_REASON = 'your session ended (logged out); log in again';

const STREAM_HEADERS: readonly string[] = [
  'Content-Type', 'text/event-stream; charset=utf-8',
  // no-transform: a compressing proxy would hold events back to fill its blocks.
  'Cache-Control', 'no-store, no-transform',
  // nginx buffers responses by default, which would delay every event (docs/deploy.md).
  'X-Accel-Buffering', 'no',
  // A stream is the last answer on its connection, so its body simply runs until the connection
  // closes: each event is then one write, without the chunk framing that made it four.
  'Connection', 'close',
  ...API_SECURITY_HEADERS,
];

/** The headers a stream starts with (also the whole answer to HEAD /api/events). */
export function streamHeaders(corsOrigin: string | undefined): string[] {
  return corsOrigin === undefined ? STREAM_HEADERS.slice() : STREAM_HEADERS.concat(corsHeaders(corsOrigin));
}

export interface StreamServices {
  chat: Chat;
  feed: LiveFeed;
  clients: ClientCounts;
  logger: Logger;
  metrics: Metrics | null;
}

export class SseStream implements LiveClient {
  readonly tokenHash: string;
  readonly #exchange: Exchange;
  readonly #services: StreamServices;
  #cursor: number;
  #isLive = false;
  #isClosed = false;
  #isAwaitingDrain = false;
  #stalledBeats = 0;

  constructor(exchange: Exchange, tokenHash: string, cursor: number, services: StreamServices) {
    this.#exchange = exchange;
    this.tokenHash = tokenHash;
    this.#cursor = cursor;
    this.#services = services;
  }

  start(): void {
    const { res } = this.#exchange;
    // The client may have left while its session was checked (a cluster node waiting for a
    // stalled Redis): 'close' has fired already, so a stream started now would never end and
    // would hold its client slot for good.
    if (res.destroyed) {
      this.#exchange.recordAnswer(CLIENT_CLOSED);
      return;
    }
    this.#exchange.isLongLived = true;
    this.#services.clients.opened('sse');
    this.#services.feed.add(this);
    res.once('close', () => this.#closed());
    this.#services.logger.info('sse-connect', { remote: res.socket?.remoteAddress, user: this.#exchange.user, last: this.#cursor });
    // No Content-Length and no Transfer-Encoding: node then frames nothing (see Connection above).
    res.removeHeader('Content-Length');
    res.removeHeader('Transfer-Encoding');
    res.writeHead(200, streamHeaders(this.#exchange.corsOrigin));
    res.write(`${retryField(RETRY_MS)}${cursorMark(this.#cursor)}`);
    this.#catchUp();
  }

  deliver(batch: LiveBatch): void {
    if (!this.#isLive || this.#isClosed) return;
    const bytes = batch.bytesAfter(this.#cursor);
    if (batch.lastCursor > this.#cursor) this.#cursor = batch.lastCursor;
    if (bytes !== null) this.#writeLive(bytes);
  }

  heartbeat(): void {
    if (this.#isClosed) return;
    if (this.#isAwaitingDrain) {
      if (++this.#stalledBeats >= CATCH_UP_STALL_BEATS) this.#cutOff();
      return;
    }
    // Bytes still on their way keep proxies from timing out just as well, and a heartbeat
    // queued behind them would only add to what the client has not read.
    if (this.#exchange.res.writableLength > 0) return;
    this.#exchange.res.write(HEARTBEAT);
  }

  end(reason: EndReason): void {
    if (this.#isClosed) return;
    const { res } = this.#exchange;
    if (reason === 'shutdown') res.write(goodbyeEvent('the server is shutting down; reconnect shortly', SHUTDOWN_RETRY_SECONDS));
    else res.write(logoutEvent(LOGOUT_REASON));
    res.end();
    this.#closed();
  }

  #catchUp(): void {
    const { res } = this.#exchange;
    this.#isAwaitingDrain = false;
    this.#stalledBeats = 0;
    for (;;) {
      if (this.#isClosed) return;
      const text = this.#readPage();
      if (text === null) break;
      if (!res.write(text)) {
        this.#isAwaitingDrain = true;
        res.once('drain', () => this.#catchUp());
        return;
      }
    }
    // Nothing newer in the store: from here the feed delivers. No await separates the last
    // read from this line, so no published change can fall between the two.
    this.#isLive = true;
  }

  /** The next page of events after the stream's cursor, or null when there is nothing newer. */
  #readPage(): string | null {
    const { chat } = this.#services;
    const start = this.#cursor;
    if (start === chat.cursor) return null;
    const page = chat.liveChangesAfter(start, PAGE_SIZE);
    if (page.missed) {
      // The client reloads the newest page and then follows from here, so nothing older than
      // the newest change is sent (page.last may be the end of the oldest page still kept).
      this.#cursor = Math.max(page.last, chat.cursor);
      return resetEvent(this.#cursor);
    }
    // Past the newest change without a reset: a cluster node that has not seen it yet.
    if (page.last <= start) return null;
    let text = '';
    let bytes = 0;
    let sent = 0;
    while (sent < page.changes.length && bytes < PAGE_BYTES) {
      const event = changeEvent(page.changes[sent++]!);
      text += event;
      bytes += Buffer.byteLength(event);
    }
    if (sent < page.changes.length) {
      this.#cursor = page.changes[sent - 1]!.cursor;
      return text;
    }
    // Changes that make no event (a message deleted before anyone saw it) still move the
    // client's cursor, so a reconnect does not read them again.
    const lastEvent = page.changes[page.changes.length - 1];
    if (lastEvent === undefined || lastEvent.cursor !== page.last) text += cursorMark(page.last);
    this.#cursor = page.last;
    return text;
  }

  #writeLive(text: string | Buffer): void {
    const { res } = this.#exchange;
    // Checked before a write, not after, so one large burst to a client that reads does not
    // count against it.
    if (res.writableLength > MAX_UNREAD_BYTES) {
      this.#cutOff();
      return;
    }
    res.write(text);
  }

  #cutOff(): void {
    const { logger, metrics } = this.#services;
    metrics?.slowConsumers.inc({ transport: 'sse' });
    logger.warn('sse-slow-consumer', { remote: this.#exchange.res.socket?.remoteAddress, user: this.#exchange.user, buffered: this.#exchange.res.writableLength });
    this.#exchange.res.destroy();
    this.#closed();
  }

  #closed(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#services.feed.delete(this);
    this.#services.clients.closed('sse');
    this.#services.logger.info('sse-disconnect', { user: this.#exchange.user });
    this.#exchange.recordAnswer(200);
  }
}
