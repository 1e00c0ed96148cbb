// The page's one live connection: it owns the change cursor and keeps the chat current through
// drops, restarts and networks that break streaming.
//
//   start ──► catch up (GET /api/messages, first page or ?last=C) ──► live transport
//                 ▲   fails: back off 0.5 s, 1 s, 2 s … 15 s                 │
//                 └────────────── the stream or a poll fails ◄──────────────┘
//
// Live transport is Server-Sent Events (GET /api/events?last=C) while they work. An EventSource
// that fails before it ever opens, three times in a row while plain requests succeed, means
// something between us and the server (a buffering proxy, an old browser) breaks streaming:
// from then on long polls (GET /api/messages?last=C&wait=25) carry the changes. Both paths ask
// from the same cursor and skip any event at or below it, so a resume has no gap and no repeat.
//
// Why not EventSource's own reconnect: it retries forever at a fixed pace, cannot tell an
// expired session (401) from a restart, and gives up for good on any HTTP error. Closing it on
// error and catching up with one request gives backoff, a status to show, and 401 handling.
//
// A server going down (restart, deploy) ends the stream with an SSE `goodbye` event carrying
// `retryAfter` seconds: the feed shows "reconnecting" and catches up only after that (plus up to
// half again as jitter, so the returning server is not hit by every page at once), instead of
// failing a catch-up against a server that is not back yet.
//
// Two answers end the normal flow (docs/api.md):
// - reset: the server has no history at our cursor (a `--memory` restart, wiped data). A catch-up
//   or poll answer with `reset: true` is the newest page itself; an SSE `reset` event means "load
//   the newest page", which the feed does by starting over (first page, then a new stream from
//   its cursor). Either way the listener gets a snapshot and replaces what it shows.
// - logout: an SSE `logout` event (this session ended in another tab or client), or a 401 on
//   any request. The feed stops and tells the listener, with the server's reason when it gave one.
import { fetchMessages, isSessionEnded, parseMessage } from './api.js';
import { backoffDelay as backoff, retryAfterDelay } from '../../protocol/backoff.js';
import { DEFAULT_PAGE_SIZE } from '../../protocol/limits.js';
import type { ChangeSet } from '../../protocol/message.js';

export type LinkStatus = 'connecting' | 'connected' | 'reconnecting' | 'offline';
export type Transport = 'events' | 'polling';

export interface FeedListener {
  /**
   * The newest page: when the feed starts, and again after a reset. Replaces the messages shown
   * (unconfirmed sends stay).
   */
  snapshot(page: ChangeSet, hasOlder: boolean): void;
  changes(changes: ChangeSet): void;
  status(status: LinkStatus, transport: Transport): void;
  /**
   * The session is gone (logged out elsewhere, expired); the feed has stopped. `reason` is the
   * server's sentence when it sent one (SSE `logout`), null after a bare 401.
   */
  sessionEnded(reason: string | null): void;
}

export const FIRST_PAGE_SIZE = 50;
const STRIKES_BEFORE_POLLING = 3;
/**
 * How long failed catch-ups show as "reconnecting" before the status says "offline". A server
 * restart takes a few seconds; saying "offline" for it would alarm people for nothing. When the
 * browser itself knows it has no network (navigator.onLine), "offline" shows at once.
 */
const RECONNECTING_BEFORE_OFFLINE_MS = 10_000;
const POLL_WAIT_SECONDS = 25;
/** A long poll that has not answered this long after its wait is treated as lost. */
const POLL_GRACE_MS = 10_000;
/** A goodbye's retryAfter when it has none we can read, and the most of it we honour. */
const GOODBYE_RETRY_DEFAULT_S = 5;
const GOODBYE_RETRY_MAX_S = 60;

export class LiveFeed {
  readonly #listener: FeedListener;
  #transport: Transport;
  #last: number | null = null;
  /** EventSources in a row that failed before opening. */
  #strikes = 0;
  /** Catch-up requests in a row that failed. */
  #failures = 0;
  /** When the first of those failures happened (Date.now()), null while things work. */
  #failingSince: number | null = null;
  /** Turns "reconnecting" into "offline" once the failures have lasted long enough. */
  #offlineTimer: ReturnType<typeof setTimeout> | null = null;
  /** Status and transport last reported, so the listener hears only changes. */
  #shown = '';
  #status: LinkStatus = 'connecting';
  #source: EventSource | null = null;
  #request: AbortController | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  /** Until when (Date.now()) a server that said goodbye asked not to be asked again. */
  #quietUntil = 0;
  #isStopped = false;

  constructor(listener: FeedListener) {
    this.#listener = listener;
    this.#transport = typeof EventSource === 'function' ? 'events' : 'polling';
  }

  start(): void {
    window.addEventListener('online', this.#wake);
    window.addEventListener('offline', this.#wentOffline);
    document.addEventListener('visibilitychange', this.#wake);
    this.#setStatus('connecting');
    void this.#catchUp();
  }

  stop(): void {
    this.#isStopped = true;
    window.removeEventListener('online', this.#wake);
    window.removeEventListener('offline', this.#wentOffline);
    document.removeEventListener('visibilitychange', this.#wake);
    this.#source?.close();
    this.#source = null;
    this.#request?.abort();
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#clearFailing();
  }

  /**
   * Back online or back in the tab: waiting out a long backoff would only look broken, and a
   * stream that looks open may have died silently while the laptop slept, so ask once what
   * changed (the stream skips whatever this delivers first, by cursor).
   */
  #wake = (): void => {
    if (document.visibilityState === 'hidden' || this.#isStopped || Date.now() < this.#quietUntil) return;
    if (this.#timer === null) {
      if (this.#source !== null && this.#last !== null) {
        fetchMessages({ last: this.#last }).then((changes) => this.#isStopped || this.#apply(changes), () => {});
      }
      return;
    }
    clearTimeout(this.#timer);
    this.#timer = null;
    this.#failures = 0;
    void this.#catchUp();
  };

  /**
   * The browser lost its network while we were already reconnecting (failing, or waiting out a
   * goodbye): no need to wait for the next attempt, or ten seconds, to say so. While connected,
   * the stream or poll failing will tell (the browser's word alone may be a passing blip).
   */
  #wentOffline = (): void => {
    if (!this.#isStopped && this.#status === 'reconnecting') this.#setStatus('offline');
  };

  async #catchUp(): Promise<void> {
    this.#timer = null;
    try {
      if (this.#last === null) {
        const page = await this.#fetch({ limit: FIRST_PAGE_SIZE });
        this.#last = page.last;
        this.#listener.snapshot(page, page.messages.length >= FIRST_PAGE_SIZE);
      } else {
        this.#apply(await this.#fetch({ last: this.#last }));
      }
    } catch (error) {
      this.#fail(error);
      return;
    }
    this.#failures = 0;
    this.#clearFailing();
    if (this.#transport === 'events' && this.#strikes >= STRIKES_BEFORE_POLLING) this.#transport = 'polling';
    if (this.#transport === 'events') {
      this.#openEvents();
    } else {
      this.#setStatus('connected');
      void this.#poll();
    }
  }

  #openEvents(): void {
    const source = new EventSource(`/api/events?last=${this.#last}`);
    let isOpen = false;
    this.#source = source;
    source.onopen = () => {
      isOpen = true;
      this.#strikes = 0;
      this.#setStatus('connected');
    };
    source.addEventListener('message', (event) => {
      this.#onEvent(event, (data) => ({ messages: [parseMessage(data)], deleted: [] }));
    });
    source.addEventListener('delete', (event) => {
      this.#onEvent(event, (data) => {
        const id = (data as { id?: unknown } | null)?.id;
        if (!Number.isInteger(id)) throw new Error('delete event without an id');
        return { messages: [], deleted: [id as number] };
      });
    });
    source.addEventListener('reset', () => {
      // The stream continues after the server's cursor, but what we show belongs to a history
      // the server no longer has: start over from the newest page and a fresh stream.
      source.close();
      if (this.#source === source) this.#source = null;
      if (this.#isStopped) return;
      this.#last = null;
      void this.#catchUp();
    });
    source.addEventListener('goodbye', (event) => {
      source.close();
      if (this.#source === source) this.#source = null;
      if (this.#isStopped) return;
      this.#setStatus('reconnecting');
      const delay = retryAfterDelay(readRetryAfter((event as MessageEvent).data));
      this.#quietUntil = Date.now() + delay;
      this.#schedule(delay);
    });
    source.addEventListener('logout', (event) => {
      source.close();
      if (this.#isStopped) return;
      this.stop();
      this.#listener.sessionEnded(readReason((event as MessageEvent).data));
    });
    source.onerror = () => {
      source.close();
      if (this.#source === source) this.#source = null;
      if (this.#isStopped) return;
      // A stream that was open dropped (restart, proxy timeout): catch up at once, and keep
      // showing "connected" unless that fails, so a blip does not flash the indicator.
      if (isOpen) {
        void this.#catchUp();
      } else {
        this.#strikes++;
        this.#schedule(backoff(this.#strikes));
      }
    };
  }

  #onEvent(event: MessageEvent, read: (data: unknown) => Omit<ChangeSet, 'last'>): void {
    const cursor = Number(event.lastEventId);
    if (!Number.isInteger(cursor) || this.#last === null || cursor <= this.#last) return;
    let changes: Omit<ChangeSet, 'last'>;
    try {
      changes = read(JSON.parse(event.data as string));
    } catch (error) {
      console.warn('Parley: skipped an event it could not read', error);
      return;
    }
    this.#last = cursor;
    this.#listener.changes({ ...changes, last: cursor });
  }

  async #poll(): Promise<void> {
    while (!this.#isStopped) {
      try {
        this.#apply(await this.#fetch({ last: this.#last!, wait: POLL_WAIT_SECONDS }));
      } catch (error) {
        this.#fail(error);
        return;
      }
      this.#setStatus('connected');
    }
  }

  #apply(changes: ChangeSet): void {
    if (changes.reset) {
      this.#last = changes.last;
      this.#listener.snapshot(changes, changes.messages.length >= DEFAULT_PAGE_SIZE);
      return;
    }
    if (this.#last !== null && changes.last < this.#last) return;
    this.#last = changes.last;
    if (changes.messages.length > 0 || changes.deleted.length > 0) this.#listener.changes(changes);
  }

  async #fetch(query: Parameters<typeof fetchMessages>[0]): Promise<ChangeSet> {
    const request = new AbortController();
    this.#request = request;
    const timeout = setTimeout(() => request.abort(), (query.wait ?? 0) * 1000 + POLL_GRACE_MS);
    try {
      return await fetchMessages(query, request.signal);
    } finally {
      clearTimeout(timeout);
      if (this.#request === request) this.#request = null;
    }
  }

  #fail(error: unknown): void {
    if (this.#isStopped) return;
    if (isSessionEnded(error)) {
      this.stop();
      this.#listener.sessionEnded(null);
      return;
    }
    this.#failures++;
    if (this.#failingSince === null) {
      this.#failingSince = Date.now();
      // On a timer of its own: the next failed catch-up may come 15 s later (backoff), or the
      // catch-up may hang until its timeout, and the status should not wait for either.
      this.#offlineTimer = setTimeout(() => {
        this.#offlineTimer = null;
        this.#setStatus('offline');
      }, RECONNECTING_BEFORE_OFFLINE_MS);
    }
    const isOffline =
      navigator.onLine === false || Date.now() - this.#failingSince >= RECONNECTING_BEFORE_OFFLINE_MS;
    this.#setStatus(isOffline ? 'offline' : 'reconnecting');
    this.#schedule(backoff(this.#failures));
  }

  #clearFailing(): void {
    this.#failingSince = null;
    if (this.#offlineTimer !== null) clearTimeout(this.#offlineTimer);
    this.#offlineTimer = null;
  }

  #schedule(delay: number): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#catchUp(), delay);
  }

  #setStatus(status: LinkStatus): void {
    this.#status = status;
    const shown = `${status} ${this.#transport}`;
    if (shown === this.#shown) return;
    this.#shown = shown;
    this.#listener.status(status, this.#transport);
  }
}

/** The sentence in an SSE `logout` event's `{"reason": "…"}`, if it has one. */
function readReason(data: unknown): string | null {
  try {
    const reason = (JSON.parse(String(data)) as { reason?: unknown } | null)?.reason;
    return typeof reason === 'string' && reason.trim() !== '' ? reason : null;
  } catch {
    return null;
  }
}

/** The seconds in an SSE `goodbye` event's `{"retryAfter": 5}`, within sensible bounds. */
function readRetryAfter(data: unknown): number {
  try {
    const seconds = (JSON.parse(String(data)) as { retryAfter?: unknown } | null)?.retryAfter;
    if (typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds, GOODBYE_RETRY_MAX_S);
  } catch {
    // Not JSON: fall through to the default.
  }
  return GOODBYE_RETRY_DEFAULT_S;
}

