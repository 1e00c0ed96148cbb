// GET /api/messages?last=C&wait=S when nothing changed after C yet: the request is held until
// a change arrives (woken by the live feed), `S` seconds pass (answered empty), the client
// leaves, the server shuts down (answered with what is there, usually empty), or its session
// ends (answered 401, as the next request would be).
import type { ChangeAnswers } from './change-answers.js';
import { CLIENT_CLOSED, type Exchange } from './exchange.js';
import type { EndReason, LiveBatch, LiveClient, LiveFeed } from './live-feed.js';
import { ApiError } from '../errors.js';
import { sendError, sendJson } from './respond.js';
import type { ClientCounts } from '../ops/client-counts.js';

export class LongPoll implements LiveClient {
  readonly tokenHash: string;
  readonly #exchange: Exchange;
  readonly #answers: ChangeAnswers;
  readonly #feed: LiveFeed;
  readonly #clients: ClientCounts;
  readonly #last: number;
  readonly #limit: number;
  #timer: NodeJS.Timeout | undefined;
  #isDone = false;

  constructor(
    exchange: Exchange,
    tokenHash: string,
    last: number,
    limit: number,
    services: { answers: ChangeAnswers; feed: LiveFeed; clients: ClientCounts },
  ) {
    this.#exchange = exchange;
    this.tokenHash = tokenHash;
    this.#last = last;
    this.#limit = limit;
    this.#answers = services.answers;
    this.#feed = services.feed;
    this.#clients = services.clients;
  }

  start(waitMs: number): void {
    // The client may have left while its session was checked (a cluster node waiting for a
    // stalled Redis): 'close' has fired already, so nothing below would ever end this wait.
    if (this.#exchange.res.destroyed) {
      this.#exchange.recordAnswer(CLIENT_CLOSED);
      return;
    }
    this.#exchange.isLongLived = true;
    this.#clients.opened('longpoll');
    this.#feed.add(this);
    this.#timer = setTimeout(() => this.#answer(), waitMs);
    this.#exchange.res.once('close', () => {
      if (this.#isDone) return;
      this.#finish();
      this.#exchange.recordAnswer(CLIENT_CLOSED);
    });
  }

  deliver(batch: LiveBatch): void {
    if (batch.lastCursor <= this.#last) return;
    // Answer only once the change is readable; otherwise the next batch wakes us again.
    if (this.#answers.changesAfter(this.#last, this.#limit).isEmpty) return;
    this.#answer();
  }

  heartbeat(): void {}

  end(reason: EndReason): void {
    this.#answer(reason === 'logout' ? new ApiError('NOT_LOGGED_IN', 'your session ended (logged out); log in with POST /api/login') : undefined);
  }

  #answer(refusal?: ApiError): void {
    if (this.#isDone) return;
    this.#finish();
    const { res } = this.#exchange;
    if (res.destroyed) {
      this.#exchange.recordAnswer(CLIENT_CLOSED);
      return;
    }
    if (res.headersSent) return;
    if (refusal !== undefined) sendError(this.#exchange, refusal);
    else sendJson(this.#exchange, 200, this.#answers.changesAfter(this.#last, this.#limit).body);
  }

  #finish(): void {
    this.#isDone = true;
    clearTimeout(this.#timer);
    this.#feed.delete(this);
    this.#clients.closed('longpoll');
  }
}
