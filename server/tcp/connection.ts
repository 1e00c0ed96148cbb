// One TCP client: bytes in -> frames -> requests -> replies, plus pushed changes once it
// subscribes. Requests run concurrently (a burst of sends shares one fsync) except those that
// change the connection's state (login, resume, logout, subscribe, unsubscribe), which wait
// for everything before them and hold back everything after them, so a pipelined
// "login, send" always sends as the new user.
import type { Socket } from 'node:net';
import { FrameDecoder, encodeFrame } from '../../protocol/frame-decoder.js';
import { MAX_FRAME_BYTES, MAX_TEXT_LENGTH } from '../../protocol/limits.js';
import { OPERATIONS, type ErrorReply, type Operation, type Push, type Request, type RequestId } from '../../protocol/tcp-frames.js';
import type { Chat, Session } from '../chat/chat.js';
import { ApiError, toApiError } from '../errors.js';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import { operations, optionalCursor, requireSession, type OperationContext } from './operations.js';
import { encodePush, type Subscriber, type SubscriberHub } from './subscribers.js';

/** Pushed bytes a subscriber may leave unread before it is cut off. */
export const MAX_UNREAD_BYTES = 1024 * 1024;
/** Changes sent per page while replaying a subscriber's backlog. */
const BACKLOG_PAGE = 500;
const STATEFUL: ReadonlySet<Operation> = new Set(['login', 'resume', 'logout', 'subscribe', 'unsubscribe']);

export interface ConnectionDeps {
  chat: Chat;
  hub: SubscriberHub;
  logger: Logger;
  metrics: Metrics | null;
  /** A half-written frame followed by this much silence is abandoned. */
  frameTimeoutMs: number;
}

export class Connection implements Subscriber {
  readonly #socket: Socket;
  readonly #deps: ConnectionDeps;
  readonly #decoder = new FrameDecoder(MAX_FRAME_BYTES);
  readonly #context: OperationContext;
  #session: Session | undefined;
  #inFlight = new Set<Promise<void>>();
  #barrier: Promise<void> = Promise.resolve();
  /** Set while subscribed; changes arriving during the backlog replay wait in `#held`. */
  #subscription: { live: boolean; last: number; held: Array<{ frame: string; cursor: number }> } | null = null;
  #closing = false;

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
        connection.#session = session;
      },
    };
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('timeout', () => this.#fail('IDLE_TIMEOUT', `no complete frame within ${this.#deps.frameTimeoutMs / 1000} s; every frame must end with a newline`));
    socket.on('close', () => this.#onClose());
    socket.on('error', () => {}); // resets are normal; 'close' follows
    this.#write(encodeFrame({
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
    await Promise.allSettled([...this.#inFlight]);
    this.#stopSubscription();
    this.#write(encodeFrame({ event: 'goodbye', reason, ...(retryAfter ? { retryAfter } : {}) } satisfies Push));
    this.#socket.end();
  }

  destroy(): void {
    this.#socket.destroy();
  }

  deliver(frame: string, cursor: number): void {
    const subscription = this.#subscription;
    if (!subscription) return;
    if (!subscription.live) {
      subscription.held.push({ frame, cursor });
      return;
    }
    if (cursor <= subscription.last) return;
    subscription.last = cursor;
    if (this.#socket.writableLength > MAX_UNREAD_BYTES) {
      this.#deps.metrics?.slowConsumers.inc({ transport: 'tcp' });
      this.#deps.logger.warn('tcp-slow-consumer', { remote: this.#socket.remoteAddress, user: this.username });
      // The client is not reading, so an error frame would never arrive; cutting it off is
      // what keeps the server's memory bounded and everyone else served.
      this.#socket.destroy();
      return;
    }
    this.#socket.write(frame);
  }

  #onData(chunk: Buffer): void {
    const result = this.#decoder.push(chunk);
    for (const frame of result.frames) this.#onFrame(frame);
    if (!result.ok) {
      this.#fail('FRAME_TOO_LARGE', `a frame of more than ${result.limit} bytes was sent; the limit is ${MAX_FRAME_BYTES} bytes per line, so the connection is closed`);
      return;
    }
    // Silence is fine between frames (a subscriber may listen for hours), not in the middle of one.
    this.#socket.setTimeout(this.#decoder.pendingBytes > 0 ? this.#deps.frameTimeoutMs : 0);
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
    void task.finally(() => this.#inFlight.delete(task));
  }

  async #run(request: Request): Promise<void> {
    const userBefore = this.username;
    try {
      let body: object;
      let afterReply: (() => void) | undefined;
      if (request.op === 'subscribe') ({ reply: body, goLive: afterReply } = await this.#subscribe(request));
      else if (request.op === 'unsubscribe') {
        this.#stopSubscription();
        body = {};
      } else {
        const handler = operations[request.op] as (r: Request, c: OperationContext) => Promise<object> | object;
        body = await handler(request, this.#context);
      }
      if (request.op === 'login' || request.op === 'resume') {
        this.#deps.logger.info('login', { transport: 'tcp', user: this.username, resumed: request.op === 'resume' });
        if (request.op === 'login') this.#deps.metrics?.logins.inc({ transport: 'tcp' });
      }
      if (request.op === 'logout' && userBefore !== undefined) this.#deps.logger.info('logout', { transport: 'tcp', user: userBefore });
      this.#deps.metrics?.tcpFrames.inc({ op: request.op, outcome: 'ok' });
      this.#write(encodeFrame({ id: request.id, ok: true, ...body }));
      afterReply?.();
    } catch (error) {
      const { error: apiError, isBug } = toApiError(error);
      if (isBug) this.#deps.logger.error('tcp-request-failed', { op: request.op, error });
      this.#deps.metrics?.tcpFrames.inc({ op: request.op, outcome: apiError.code });
      this.#replyError(request.id, apiError);
    }
  }

  /** Pushes every change after `last`, replies, then goes live; nothing is missed or doubled. */
  async #subscribe(
    request: Extract<Request, { op: 'subscribe' }>,
  ): Promise<{ reply: { last: number; missed: boolean }; goLive: () => void }> {
    requireSession(this.#context);
    const from = optionalCursor(request, 'last');
    this.#stopSubscription();
    const subscription = { live: false, last: from ?? this.#deps.chat.cursor, held: [] as Array<{ frame: string; cursor: number }> };
    this.#subscription = subscription;
    this.#deps.hub.add(this);
    let missed = false;
    if (from !== undefined) {
      for (;;) {
        const page = this.#deps.chat.liveChangesAfter(subscription.last, BACKLOG_PAGE);
        missed ||= page.missed;
        for (const change of page.changes) this.#write(encodePush(change));
        subscription.last = Math.max(subscription.last, page.last);
        if (page.changes.length === 0 || page.last >= this.#deps.chat.cursor) break;
        if (this.#socket.writableLength > MAX_UNREAD_BYTES) await this.#drained();
        if (this.#subscription !== subscription) throw new ApiError('BAD_REQUEST', 'the subscription was replaced or ended');
      }
    }
    // Changes published during the replay were held; they follow the reply, in order.
    const goLive = () => {
      if (this.#subscription !== subscription) return;
      subscription.live = true;
      for (const held of subscription.held) this.deliver(held.frame, held.cursor);
      subscription.held = [];
    };
    return { reply: { last: subscription.last, missed }, goLive };
  }

  #drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.#socket.off('drain', done);
        this.#socket.off('close', done);
        resolve();
      };
      this.#socket.on('drain', done);
      this.#socket.on('close', done);
    });
  }

  #stopSubscription(): void {
    if (!this.#subscription) return;
    this.#subscription = null;
    this.#deps.hub.remove(this);
  }

  #fail(code: 'IDLE_TIMEOUT' | 'FRAME_TOO_LARGE', message: string): void {
    this.#replyError(null, new ApiError(code, message));
    this.#stopSubscription();
    this.#socket.end();
    // A client that does not read its error frame must not hold the socket open forever.
    setTimeout(() => this.#socket.destroy(), 2000).unref();
  }

  #replyError(id: RequestId | null, error: ApiError): void {
    const reply: ErrorReply = {
      id,
      ok: false,
      error: { code: error.code, message: error.message, ...(error.details.retryAfter ? { retryAfter: error.details.retryAfter } : {}) },
    };
    this.#write(encodeFrame(reply));
  }

  #write(frame: string): void {
    if (!this.#socket.destroyed && this.#socket.writable) this.#socket.write(frame);
  }

  #onClose(): void {
    this.#stopSubscription();
  }
}

function isRequestId(id: unknown): id is RequestId {
  return (typeof id === 'number' && Number.isFinite(id)) || (typeof id === 'string' && id.length > 0 && id.length <= 64);
}
