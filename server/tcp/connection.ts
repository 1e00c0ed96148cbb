// One TCP client: bytes in -> frames -> requests -> replies, plus pushed changes once it
// subscribes. Requests run concurrently (a burst of sends shares one fsync) except those that
// change the connection's state (login, resume, logout, subscribe, unsubscribe), which wait
// for everything before them and hold back everything after them, so a pipelined
// "login, send" always sends as the new user.
//
// Flow control keeps one client's share of the server's memory small, however it behaves:
// - At most MAX_REQUESTS_IN_FLIGHT requests run at once. Frames decoded beyond that wait here
//   (one socket read's worth at most) and the socket is not read meanwhile, so a client that
//   pipelines thousands of requests waits in its own kernel buffers, not in ours.
// - While the client leaves more than MAX_UNREAD_BYTES unread (outbox.ts), the socket is not
//   read and requests wait before they run. A synchronous one (history) runs and writes its
//   reply in the same turn, so every reply is counted before the next request looks.
// - A client that stops reading altogether is cut off with SLOW_CONSUMER (outbox.ts says when).
// - A frame must be complete within --frame-timeout of its first byte (frame-deadline.ts).
import type { Socket } from 'node:net';
import { FrameDecoder, encodeFrame } from '../../protocol/frame-decoder.js';
import { MAX_FRAME_BYTES, MAX_TEXT_LENGTH } from '../../protocol/limits.js';
import { OPERATIONS, type ErrorReply, type Operation, type Push, type Request, type RequestId } from '../../protocol/tcp-frames.js';
import type { Chat, Session } from '../chat/chat.js';
import { hashToken } from '../chat/session-token.js';
import { ApiError, toApiError } from '../errors.js';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import { FrameDeadline } from './frame-deadline.js';
import { operations, optionalCursor, requireSession, type OperationContext } from './operations.js';
import { MAX_UNREAD_BYTES } from '../../protocol/limits.js';
import { MAX_UNREAD_BYTES_HARD, Outbox, STALL_TIMEOUT_MS, type CutReason } from './outbox.js';
import type { SessionConnections, SessionHolder } from './session-connections.js';
import { encodePush, type PushBatch, type Subscriber, type SubscriberHub } from './subscribers.js';

/** Requests of one connection running at once; more wait, unread, in the client's socket. */
export const MAX_REQUESTS_IN_FLIGHT = 64;
/** Changes sent per page while replaying a subscriber's backlog. */
const BACKLOG_PAGE = 500;
/** How long a connection closed with an error frame may take to read it before it is dropped. */
const CLOSE_GRACE_MS = 2000;
const STATEFUL: ReadonlySet<Operation> = new Set(['login', 'resume', 'logout', 'subscribe', 'unsubscribe']);
const SESSION_ENDED_REASON = 'you were logged out (on another connection or server); log in again';

export interface ConnectionDeps {
  chat: Chat;
  hub: SubscriberHub;
  sessions: SessionConnections;
  logger: Logger;
  metrics: Metrics | null;
  /** Longest a frame may stay half-written, from its first byte. */
  frameTimeoutMs: number;
}

type Handler = (request: Request, context: OperationContext) => Promise<object> | object;

export class Connection implements Subscriber, SessionHolder {
  readonly #socket: Socket;
  readonly #deps: ConnectionDeps;
  readonly #decoder = new FrameDecoder(MAX_FRAME_BYTES);
  readonly #outbox: Outbox;
  readonly #frameDeadline: FrameDeadline;
  readonly #context: OperationContext;
  #session: Session | undefined;
  /** hashToken(#session.token), computed once per login or resume. */
  #sessionHash: string | undefined;
  #inFlight = new Set<Promise<void>>();
  #barrier: Promise<void> = Promise.resolve();
  /** Frames decoded but not started yet, from #nextFrame on. */
  #frames: string[] = [];
  #nextFrame = 0;
  #subscription: Subscription | null = null;
  #closing = false;
  /** The socket is gone ('close'); the connection must not enter the session index again. */
  #isClosed = false;
  /** The error frame the connection was closed with, if it was. */
  #closedWith: ApiError | undefined;
  /** The client shut down its sending side (`printf ... | nc -q 1`): answer what it sent, then end. */
  #peerEnded = false;

  constructor(socket: Socket, deps: ConnectionDeps) {
    this.#socket = socket;
    this.#deps = deps;
    const connection = this;
    this.#context = {
      chat: deps.chat,
      get session() {
        return connection.#session;
      },
      setSession(session) {
        connection.#setSession(session);
      },
    };
    this.#frameDeadline = new FrameDeadline(deps.frameTimeoutMs, () =>
      this.#fail('IDLE_TIMEOUT', `no complete frame within ${deps.frameTimeoutMs / 1000} s of its first byte; every frame must end with a newline`),
    );
    this.#outbox = new Outbox(socket, {
      onDrain: () => this.#pump(),
      onCut: (reason, unreadBytes) => this.#cutOff(reason, unreadBytes),
    });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => this.#onPeerEnd());
    socket.on('close', () => this.#onClose());
    socket.on('error', () => {}); // resets are normal; 'close' follows
    this.#outbox.write(encodeFrame({
      event: 'hello',
      server: 'parley',
      protocol: 1,
      limits: { maxFrameBytes: MAX_FRAME_BYTES, maxTextLength: MAX_TEXT_LENGTH },
    } satisfies Push));
  }

  get username(): string | undefined {
    return this.#session?.username;
  }

  /** Ends the connection after requests in flight are answered, with a goodbye frame. */
  async goodbye(reason: string, retryAfter?: number): Promise<void> {
    this.#closing = true;
    this.#pump(); // frames read but not started are answered SHUTTING_DOWN
    await Promise.allSettled([...this.#inFlight]);
    this.#stopSubscription();
    this.#outbox.write(encodeFrame({ event: 'goodbye', reason, ...(retryAfter ? { retryAfter } : {}) } satisfies Push));
    this.#socket.end();
  }

  destroy(): void {
    this.#socket.destroy();
  }

  deliver(batch: PushBatch): void {
    const subscription = this.#subscription;
    // During the replay the ring is read up to the newest change, which covers this batch.
    if (!subscription?.live) return;
    const bytes = batch.bytesAfter(subscription.last);
    if (bytes === null) return;
    subscription.last = batch.lastCursor;
    this.#outbox.write(bytes);
  }

  endSession(): void {
    if (this.#session === undefined) return;
    this.#setSession(undefined);
    this.#stopSubscription();
    this.#outbox.write(encodeFrame({ event: 'session-ended', reason: SESSION_ENDED_REASON } satisfies Push));
  }

  #setSession(session: Session | undefined): void {
    const hash = session === undefined ? undefined : hashToken(session.token);
    // A login or resume may finish after the client hung up: indexed then, the closed connection
    // would stay in the index (and in memory) until its session ends, which may be never.
    if (!this.#isClosed) this.#deps.sessions.move(this, this.#sessionHash, hash);
    this.#session = session;
    this.#sessionHash = hash;
  }

  #onData(chunk: Buffer): void {
    const result = this.#decoder.push(chunk);
    for (const frame of result.frames) this.#frames.push(frame);
    this.#frameDeadline.track(this.#decoder.pendingBytes, result.frames.length > 0);
    this.#pump();
    if (!result.ok) {
      this.#fail('FRAME_TOO_LARGE', `a frame of more than ${result.limit} bytes was sent; the limit is ${MAX_FRAME_BYTES} bytes per line, so the connection is closed`);
    }
  }

  /** Starts the frames that may start now, then reads on only if nothing is left waiting. */
  #pump(): void {
    while (this.#nextFrame < this.#frames.length && !this.#outbox.isCut) {
      // While closing, frames are only answered SHUTTING_DOWN, which costs nothing to hold.
      if (!this.#closing && (this.#inFlight.size >= MAX_REQUESTS_IN_FLIGHT || this.#outbox.isFull)) break;
      this.#onFrame(this.#frames[this.#nextFrame++]!);
    }
    if (this.#nextFrame === this.#frames.length) {
      this.#frames = [];
      this.#nextFrame = 0;
    }
    if (this.#peerEnded) {
      this.#endWhenAnswered();
      return;
    }
    const mayRead = this.#frames.length === 0 && this.#inFlight.size < MAX_REQUESTS_IN_FLIGHT && !this.#outbox.isFull;
    if (mayRead && this.#socket.isPaused()) {
      this.#socket.resume();
      this.#frameDeadline.resume();
    } else if (!mayRead && !this.#socket.isPaused()) {
      this.#socket.pause();
      this.#frameDeadline.pause();
    }
  }

  // A half-closed connection (the server is created with allowHalfOpen) can still take replies:
  // they may wait on the disk or on Redis, so ending at once would lose them. Once they are out
  // the connection ends, subscribed or not: a FIN looks the same whether the client only stopped
  // sending or closed for good, and the second is the common case; kept open, its socket would
  // linger until the next push found nobody there.
  #onPeerEnd(): void {
    this.#peerEnded = true;
    this.#frameDeadline.clear(); // a frame left half-written can no longer be finished
    this.#pump();
  }

  #endWhenAnswered(): void {
    const isAnswered = this.#frames.length === 0 && this.#inFlight.size === 0;
    if (isAnswered && !this.#socket.writableEnded) {
      this.#stopSubscription();
      this.#frameDeadline.clear();
      // No fixed grace here, unlike #close: the client may be reading a large last reply slowly.
      this.#outbox.end();
    }
  }

  #onFrame(text: string): void {
    if (text.trim() === '') return; // blank lines (a user pressing Enter in nc) are ignored
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      this.#replyError(null, new ApiError('BAD_JSON', `that line is not valid JSON (${(error as Error).message}); send one JSON object per line`));
      return;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      this.#replyError(null, new ApiError('BAD_REQUEST', 'each line must be a JSON object like {"id":1,"op":"ping"}'));
      return;
    }
    const request = parsed as Partial<Request> & Record<string, unknown>;
    const id = request.id;
    if (!isRequestId(id)) {
      this.#replyError(null, new ApiError('BAD_REQUEST', '"id" is missing: give every request an id (a number or a string of up to 64 characters) to match its reply'));
      return;
    }
    const op = request.op as Operation;
    if (typeof op !== 'string' || !OPERATIONS.includes(op)) {
      this.#replyError(id, new ApiError('UNKNOWN_OP', `unknown "op" ${JSON.stringify(request.op ?? null)}; the operations are ${OPERATIONS.join(', ')}`));
      return;
    }
    if (this.#closing) {
      this.#replyError(id, new ApiError('SHUTTING_DOWN', 'the server is shutting down; reconnect in a few seconds', { retryAfter: 2 }));
      return;
    }
    this.#schedule(op, () => this.#run(request as Request));
  }

  #schedule(op: Operation, run: () => Promise<void>): void {
    let task: Promise<void>;
    if (STATEFUL.has(op)) {
      const before = [...this.#inFlight];
      task = this.#barrier.then(() => Promise.allSettled(before)).then(run);
      this.#barrier = task;
    } else {
      task = this.#barrier.then(run);
    }
    this.#inFlight.add(task);
    void task.finally(() => {
      this.#inFlight.delete(task);
      this.#pump();
    });
  }

  async #run(request: Request): Promise<void> {
    // Nothing is answered into a full outbox; see the top of the file.
    while (this.#outbox.isFull && !this.#outbox.isCut && !this.#socket.destroyed) await this.#outbox.room();
    if (this.#outbox.isCut || this.#socket.destroyed) return;
    const userBefore = this.username;
    try {
      let body: object;
      let subscription: Subscription | undefined;
      if (request.op === 'subscribe') {
        const subscribed = await this.#subscribe(request);
        if (subscribed === null) return; // the client is gone: nobody to answer
        ({ reply: body, subscription } = subscribed);
      } else if (request.op === 'unsubscribe') {
        this.#stopSubscription();
        body = {};
      } else {
        const result = (operations[request.op] as Handler)(request, this.#context);
        body = result instanceof Promise ? await result : result;
      }
      if (request.op === 'login' || request.op === 'resume') {
        this.#deps.logger.info('login', { transport: 'tcp', user: this.username, resumed: request.op === 'resume' });
        if (request.op === 'login') this.#deps.metrics?.logins.inc({ transport: 'tcp' });
      }
      if (request.op === 'logout' && userBefore !== undefined) this.#deps.logger.info('logout', { transport: 'tcp', user: userBefore });
      if (subscription !== undefined && !this.#isStillSubscribed(subscription)) return;
      this.#deps.metrics?.tcpFrames.inc({ op: request.op, outcome: 'ok' });
      this.#outbox.write(encodeFrame({ id: request.id, ok: true, ...body }));
      // In the same turn as the reply: no push can come between the two.
      if (subscription) this.#goLive(subscription);
    } catch (error) {
      const { error: apiError, isBug } = toApiError(error);
      if (isBug) this.#deps.logger.error('tcp-request-failed', { op: request.op, error });
      this.#deps.metrics?.tcpFrames.inc({ op: request.op, outcome: apiError.code });
      this.#replyError(request.id, apiError);
    }
  }

  /**
   * Pushes every change after `last` (the backlog) and answers with the cursor it reached; #run
   * writes the reply, then #goLive catches up and turns the subscription live. Null when the
   * client went away meanwhile.
   */
  async #subscribe(
    request: Extract<Request, { op: 'subscribe' }>,
  ): Promise<{ reply: { last: number; missed: boolean }; subscription: Subscription } | null> {
    requireSession(this.#context);
    const from = optionalCursor(request, 'last');
    this.#stopSubscription();
    const subscription: Subscription = { live: false, last: from ?? this.#deps.chat.cursor };
    this.#subscription = subscription;
    // In the hub from the start; what it flushes before the subscription is live is ignored
    // (deliver), because the ring is read up to the newest change before it goes live.
    this.#deps.hub.add(this);
    let missed = false;
    if (from !== undefined) {
      for (;;) {
        const page = this.#pushPage(subscription);
        missed ||= page.missed;
        if (page.isCaughtUp) break;
        if (this.#outbox.isFull) await this.#outbox.room();
        if (!this.#isStillSubscribed(subscription)) return null;
      }
    }
    return { reply: { last: subscription.last, missed }, subscription };
  }

  /**
   * Pushes what was published since the backlog's last read and turns the subscription live,
   * in one turn: a batch the hub flushed in between was ignored, and is read here instead;
   * batches flushed from now on are delivered, less what was pushed (PushBatch.bytesAfter).
   */
  #goLive(subscription: Subscription): void {
    if (this.#subscription !== subscription) return;
    while (!this.#pushPage(subscription).isCaughtUp);
    subscription.live = true;
  }

  /** Pushes the next page of changes after the subscription's cursor and moves the cursor. */
  #pushPage(subscription: Subscription): { missed: boolean; isCaughtUp: boolean } {
    const start = subscription.last;
    if (start === this.#deps.chat.cursor) return { missed: false, isCaughtUp: true };
    const page = this.#deps.chat.liveChangesAfter(start, BACKLOG_PAGE);
    for (const change of page.changes) this.#outbox.write(encodePush(change));
    // A cursor the chat cannot continue from (evicted, or from a history that began again) is
    // replaced by the one it answered with: keeping a cursor from the future would filter out
    // every real push. Otherwise the cursor only moves forward (a lagging cluster node may
    // answer with less than the client has already seen).
    subscription.last = page.missed ? page.last : Math.max(start, page.last);
    // A page may push nothing (its messages were deleted before anyone saw them) and still move
    // the cursor, so only the newest change, or a cursor that no longer moves (a lagging
    // cluster node), ends the replay.
    const isCaughtUp = subscription.last >= this.#deps.chat.cursor || subscription.last === start;
    return { missed: page.missed, isCaughtUp };
  }

  // A subscribe cannot be replaced or unsubscribed while it runs (those wait for it), so only
  // the session ending elsewhere or the connection closing ends its subscription early. The
  // client sent nothing wrong: it hears what happened (thrown), or nothing if it is gone (false).
  #isStillSubscribed(subscription: Subscription): boolean {
    if (this.#subscription === subscription) return true;
    if (this.#session === undefined) {
      throw new ApiError('NOT_LOGGED_IN', 'your session ended (logged out on another connection or server) while the backlog was being sent; log in again, then subscribe from the cursor of the last push you received');
    }
    if (this.#closedWith !== undefined) throw this.#closedWith;
    return false;
  }

  #stopSubscription(): void {
    if (!this.#subscription) return;
    this.#subscription = null;
    this.#deps.hub.remove(this);
  }

  // The outbox decided: this client does not read what it is sent. It is unsubscribed first, so
  // the rest of the announce loop that found it full skips it (one log line, one count).
  #cutOff(reason: CutReason, unreadBytes: number): void {
    this.#stopSubscription();
    this.#frames = [];
    this.#nextFrame = 0;
    this.#deps.metrics?.slowConsumers.inc({ transport: 'tcp' });
    this.#deps.logger.warn('tcp-slow-consumer', { remote: this.#socket.remoteAddress, user: this.username, reason, unreadBytes });
    const why =
      reason === 'stalled'
        ? `you left more than ${mebibytes(MAX_UNREAD_BYTES)} unread and read nothing for ${STALL_TIMEOUT_MS / 1000} s`
        : `more than ${mebibytes(MAX_UNREAD_BYTES_HARD)} waited unread for you: you read more slowly than you are sent`;
    const error = new ApiError('SLOW_CONSUMER', `${why}, so the connection is closed; reconnect and resubscribe from your last cursor`);
    this.#close(error);
  }

  #fail(code: 'IDLE_TIMEOUT' | 'FRAME_TOO_LARGE', message: string): void {
    const error = new ApiError(code, message);
    this.#closedWith ??= error;
    this.#replyError(null, error);
    this.#stopSubscription();
    this.#close();
  }

  /** Ends the connection after an error frame (when given); a client that does not read it in time is dropped. */
  #close(error?: ApiError): void {
    this.#closedWith ??= error;
    this.#frameDeadline.clear();
    if (error && this.#socket.writable) this.#socket.write(encodeFrame(errorReply(null, error)));
    this.#socket.end();
    setTimeout(() => this.#socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  #replyError(id: RequestId | null, error: ApiError): void {
    this.#outbox.write(encodeFrame(errorReply(id, error)));
  }

  #onClose(): void {
    this.#isClosed = true;
    this.#frameDeadline.clear();
    this.#stopSubscription();
    // Out of the session index; #session stays for the disconnect log line.
    this.#deps.sessions.move(this, this.#sessionHash, undefined);
    this.#sessionHash = undefined;
  }
}

/** Set while subscribed; `live` once the backlog is replayed and the reply written. */
interface Subscription {
  live: boolean;
  /** The cursor of the last change pushed (or skipped as not news to this client). */
  last: number;
}

function errorReply(id: RequestId | null, error: ApiError): ErrorReply {
  return {
    id,
    ok: false,
    error: { code: error.code, message: error.message, ...(error.details.retryAfter ? { retryAfter: error.details.retryAfter } : {}) },
  };
}

function mebibytes(bytes: number): string {
  return `${bytes / (1024 * 1024)} MiB`;
}

function isRequestId(id: unknown): id is RequestId {
  return (typeof id === 'number' && Number.isFinite(id)) || (typeof id === 'string' && id.length > 0 && id.length <= 64);
}
