// A chat session that outlives connections: it reconnects with backoff, logs back in with its
// token, picks the feed up at its last cursor, and sends what was typed while offline once it
// is back. No UI: the screen and `--tail` listen to its events.
//
//            start()
//               v
//   +----> connecting --- open + hello, resume/login, load or subscribe --> online
//   |           |                                                           |
//   |           | failed                                      socket lost,  |
//   |           v                                     goodbye, ping timeout |
//   +----- offline (waits backoffDelay, or the server's retryAfter) <-------+
//
//   close() from any state -> closed
//
// No gap, no duplicate: every change carries a cursor that strictly increases. The session
// keeps the last one it passed on, subscribes from it after a reconnect (the server replays
// what was missed first), and drops any change at or below it.
//
// Unless the server cannot continue from that cursor: it no longer keeps what came after it
// (`missed`), or its history began again (a --memory restart, a wiped data folder: its counter
// is back below our cursor, so it answers with a lower `last`, or `missed`, or a history page
// with `reset`). Merging would then keep messages that no longer exist and drop new ones whose
// ids we already hold, so the session starts over: a `reset` event with the newest page, and a
// new subscription right after that page. Sends still queued stay queued.
//
// A new history may also have grown past our cursor by the time we are back, and then no
// cursor rule can tell. So before subscribing again the session asks for the newest message
// it passed on, by id: a different author or time under the same id means another history.
//
// Sends once: each queued send has a clientId made when it was typed. A send whose reply was
// lost with the connection is sent again with the same clientId, and the server answers with
// the original message (duplicate: true) instead of storing it twice. Sends go one at a time,
// so they are stored in the order they were typed.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { DEFAULT_BACKOFF, backoffDelay, retryAfterDelay, type BackoffOptions } from '../../protocol/backoff.js';
import { DEFAULT_PAGE_SIZE } from '../../protocol/limits.js';
import type { ChatMessage } from '../../protocol/message.js';
import type { ReplyBodies } from '../../protocol/tcp-frames.js';
import { checkUsername } from '../../protocol/username.js';
import {
  Connection,
  DEFAULT_HOST,
  DEFAULT_PORT,
  type ChangePush,
  type ConnectionOptions,
  type RequestParams,
} from './connection.js';
import { ParleyError, toParleyError } from './errors.js';

const DEFAULT_KEEPALIVE_MS = 15_000;
/** How long after a goodbye failed reconnects still count as "the server is restarting". */
const RESTART_GRACE_MS = 60_000;

export type SessionState =
  | { kind: 'connecting'; attempt: number }
  | { kind: 'online' }
  /**
   * Waiting until `retryAt` (epoch ms) before the next attempt. `isRestarting`: the server said
   * goodbye a short while ago, so the failures since are most likely just its restart.
   */
  | { kind: 'offline'; error: ParleyError; retryAt: number; attempt: number; isRestarting: boolean }
  | { kind: 'closed' };

/**
 * Why a `reset` replaces everything shown: the first page (`load`); the server no longer keeps
 * all that happened while we were away (`gap`); the server's history began again (`restarted`),
 * so ids we showed before may now name other messages.
 */
export type ResetReason = 'load' | 'gap' | 'restarted';

export interface SessionOptions extends ConnectionOptions {
  /** Log in as this user on connect; without it the session reads only until login(). */
  username?: string;
  /** Newest messages to load on the first connect (and after a gap the server could not fill). */
  backlog?: number;
  backoff?: BackoffOptions;
  /** Ping interval while online; a ping unanswered for this long counts as a lost connection. */
  keepaliveMs?: number;
}

export interface SessionEvents {
  state: [state: SessionState];
  /** Replace everything shown with these messages (the newest page, oldest first). */
  reset: [messages: ChatMessage[], reason: ResetReason];
  message: [message: ChatMessage, cursor: number];
  delete: [id: number, cursor: number];
  /** Logged in (a name) or not (undefined: refused, or the session ended elsewhere). */
  identity: [username: string | undefined];
  /** The list of sends not yet acknowledged changed. */
  queue: [];
  /** Something went wrong that the user should read, e.g. a refused name on reconnect. */
  problem: [error: ParleyError];
}

export interface QueuedSend {
  clientId: string;
  text: string;
}

interface Outgoing extends QueuedSend {
  resolve: (reply: ReplyBodies['send']) => void;
  reject: (error: ParleyError) => void;
}

interface WaitingLogin {
  resolve: (username: string) => void;
  reject: (error: ParleyError) => void;
}

/** Errors after which a send is worth retrying on the next connection rather than dropping. */
const RETRYABLE = new Set(['DISCONNECTED', 'TIMEOUT', 'SHUTTING_DOWN', 'NOT_LOGGED_IN']);
/**
 * Refusals of a send that store nothing and say when to come back (retryAfter). The connection
 * is fine: the send waits on it and goes again with the same clientId. Closing it instead would
 * only make every client reconnect and ask again at once, while the server is least able to cope.
 */
const WAIT_AND_RESEND = new Set(['RATE_LIMITED', 'UNAVAILABLE']);
/** The wait when such a refusal gives no retryAfter. */
const DEFAULT_RETRY_AFTER_SECONDS = 1;

export class Session extends EventEmitter<SessionEvents> {
  readonly host: string;
  readonly port: number;
  readonly #options: SessionOptions;
  #state: SessionState = { kind: 'connecting', attempt: 1 };
  #connection: Connection | undefined;
  /** A connection still being prepared (identify, catch up), so that close() closes it too. */
  #preparing: Connection | undefined;
  /** The connection our subscription lives on. */
  #following: Connection | undefined;
  #username: string | undefined;
  #token: string | undefined;
  #last: number | undefined;
  /** The newest message passed on, to recognise the same history after a reconnect. */
  #newest: Pick<ChatMessage, 'id' | 'user' | 'time'> | undefined;
  #attempt = 0;
  /** Seconds the server's goodbye asked us to wait before coming back. */
  #goodbyeRetryAfter: number | undefined;
  /** When the server last said goodbye (epoch ms). */
  #goodbyeAt = 0;
  #hasBeenOnline = false;
  /** A login() made while offline, settled once a connection logs in with that name. */
  #waitingLogin: WaitingLogin | undefined;
  #queue: Outgoing[] = [];
  #isPumping = false;
  /** The server refused a send for a while (WAIT_AND_RESEND): no send goes out until the wait ends. */
  #isHoldingSends = false;
  #timers = new Set<NodeJS.Timeout>();
  #isStarted = false;

  constructor(options: SessionOptions = {}) {
    super();
    this.#options = options;
    this.host = options.host ?? DEFAULT_HOST;
    this.port = options.port ?? DEFAULT_PORT;
    this.#username = options.username;
  }

  get state(): SessionState {
    return this.#state;
  }

  /** Who we are, or will be once (re)connected: the --user name or the last login. */
  get username(): string | undefined {
    return this.#username;
  }

  /** True while the server knows us: a login or resume succeeded and no refusal since. */
  get isLoggedIn(): boolean {
    return this.#token !== undefined;
  }

  /** The newest cursor passed on, or undefined before the first load. */
  get last(): number | undefined {
    return this.#last;
  }

  get hasBeenOnline(): boolean {
    return this.#hasBeenOnline;
  }

  /** Sends typed but not yet acknowledged by the server, oldest first. */
  get queued(): readonly QueuedSend[] {
    return this.#queue.map(({ clientId, text }) => ({ clientId, text }));
  }

  start(): void {
    if (this.#isStarted) return;
    this.#isStarted = true;
    void this.#connect();
  }

  /**
   * Logs in; later reconnects resume this login. Offline (or still connecting), the name is
   * kept and used as soon as a connection is up: the promise settles then, and messages sent
   * meanwhile are queued under that name.
   */
  async login(username: string): Promise<string> {
    const check = checkUsername(username);
    if (!check.ok) throw new ParleyError('INVALID_USERNAME', check.message);
    if (this.#state.kind === 'closed') throw new ParleyError('DISCONNECTED', 'the session is closed');
    const connection = this.#connection;
    if (!connection || this.#state.kind !== 'online') {
      this.#username = check.username;
      this.#token = undefined;
      this.#waitingLogin?.reject(new ParleyError('INVALID_USERNAME', `replaced by the name ${check.username}`));
      return new Promise((resolve, reject) => (this.#waitingLogin = { resolve, reject }));
    }
    return this.#logInOn(connection, check.username);
  }

  /**
   * Queues a message; it is sent now if online, otherwise once the connection is back. Resolves
   * with the stored message, rejects with the server's reason (TEXT_TOO_LONG, ...).
   */
  send(text: string): Promise<ReplyBodies['send']> {
    if (this.#state.kind === 'closed') return Promise.reject(new ParleyError('DISCONNECTED', 'the session is closed'));
    if (this.#username === undefined) return Promise.reject(new ParleyError('NOT_LOGGED_IN', 'log in before sending'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ clientId: randomUUID(), text, resolve, reject });
      this.emit('queue');
      void this.#pump();
    });
  }

  async delete(messageId: number): Promise<void> {
    await this.#requireOnline().request('delete', { messageId });
  }

  /**
   * A page of older messages, for scrolling back. If the answer shows the server's history
   * began again, the session starts over first (a `reset` event) and the page comes back empty:
   * its messages belong to the new history, not below what was shown.
   */
  async history(params: RequestParams<'history'>): Promise<ReplyBodies['history']> {
    const connection = this.#requireOnline();
    const page = await connection.request('history', params);
    if (!page.reset) return page;
    await this.#startOver(connection, this.#last ?? 0, 'gap');
    return { messages: [], deleted: [], last: this.#last ?? page.last };
  }

  /** Stops for good; sends still queued reject with DISCONNECTED. */
  close(): void {
    if (this.#state.kind === 'closed') return;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    const connection = this.#connection;
    this.#connection = undefined;
    connection?.close();
    this.#preparing?.close();
    this.#preparing = undefined;
    const error = new ParleyError('DISCONNECTED', 'the client closed before this message was sent');
    for (const item of this.#queue.splice(0)) item.reject(error);
    this.#waitingLogin?.reject(new ParleyError('DISCONNECTED', 'the client closed before logging in'));
    this.#waitingLogin = undefined;
    this.#setState({ kind: 'closed' });
  }

  async #connect(): Promise<void> {
    this.#attempt++;
    this.#setState({ kind: 'connecting', attempt: this.#attempt });
    let connection: Connection | undefined;
    try {
      connection = await Connection.open(this.#options);
      if (this.#isClosed()) return connection.close();
      this.#preparing = connection;
      await this.#prepare(connection);
    } catch (error) {
      connection?.close();
      if (!this.#isClosed()) this.#scheduleReconnect(toParleyError(error));
      return;
    } finally {
      this.#preparing = undefined;
    }
    if (this.#isClosed()) return connection.close();
    // Closed as the last reply came in (the same chunk): #lost ignored that close, because
    // the connection was not the current one yet, so the reconnect is up to us.
    if (connection.isClosed) return this.#scheduleReconnect(connection.closeReason ?? this.#lostError());
    // The connection becomes the current one only now, so nothing is sent on it (queued
    // sends, deletes) before the server knows who we are.
    this.#connection = connection;
    this.#attempt = 0;
    this.#goodbyeAt = 0;
    this.#hasBeenOnline = true;
    this.#setState({ kind: 'online' });
    this.#keepAlive(connection);
    // A name given while this connection was being prepared has not been used yet.
    if (this.#token === undefined && this.#username !== undefined) void this.#logInWaiting(connection, this.#username);
    void this.#pump();
  }

  /** Identify, then catch up and subscribe. Changes pushed meanwhile are already handled. */
  async #prepare(connection: Connection): Promise<void> {
    connection.on('change', (push) => this.#applyChange(push));
    connection.on('goodbye', (push) => {
      this.#goodbyeAt = Date.now();
      if (push.retryAfter !== undefined) this.#goodbyeRetryAfter = push.retryAfter;
    });
    connection.on('sessionEnded', (push) => this.#sessionEnded(push.reason));
    connection.on('close', (error) => this.#lost(connection, error));
    await this.#identify(connection);
    // Reading needs a login too; without one the feed starts when login() succeeds.
    if (this.#token !== undefined) await this.#follow(connection);
  }

  /** Loads the newest page (first time) or replays from our cursor, then goes live. */
  async #follow(connection: Connection): Promise<void> {
    const backlog = this.#options.backlog ?? DEFAULT_PAGE_SIZE;
    const before = this.#last;
    if (before === undefined && backlog > 0) {
      const page = await connection.request('history', { limit: backlog });
      this.#last = page.last;
      this.#reset(page.messages, 'load');
    }
    const from = this.#last;
    // A cursor from an earlier connection may belong to another history; one just loaded cannot.
    if (before !== undefined && (await this.#isAnotherHistory(connection, before))) {
      await this.#startOver(connection, before, 'restarted');
      this.#following = connection;
      return;
    }
    const reply = await connection.request('subscribe', from === undefined ? {} : { last: from });
    if (from !== undefined && reply.last < from) await this.#startOver(connection, from, 'restarted');
    else if (from !== undefined && reply.missed) await this.#startOver(connection, from, 'gap');
    else this.#last = Math.max(from ?? 0, reply.last);
    this.#following = connection;
  }

  /**
   * Our cursor `from` is one the server cannot continue from: show its newest page instead and
   * follow from there. Pushes that arrive meanwhile are at or below our old cursor (dropped) or
   * come again in the page or in the new subscription's replay.
   */
  async #startOver(connection: Connection, from: number, reason: Exclude<ResetReason, 'load'>): Promise<void> {
    const limit = this.#options.backlog || DEFAULT_PAGE_SIZE;
    const page = await connection.request('history', { limit });
    // An older server answers `missed` with our own cursor as `last`; its newest cursor, now
    // below ours, still shows that its history began again.
    this.#last = page.last;
    this.#reset(page.messages, page.last < from ? 'restarted' : reason);
    // A new subscription right after the page. It replaces the one made with the old cursor,
    // which an older server would hold back until its counter passed that cursor.
    const reply = await connection.request('subscribe', { last: page.last });
    this.#last = Math.max(this.#last, reply.last);
  }

  /**
   * True when the server's history is not the one our cursor `from` came from: its newest
   * cursor is below ours, or the newest message we passed on has another author or time under
   * its id. When that message is gone (deleted since) nothing can be told, and the cursor rules
   * of the subscription decide.
   */
  async #isAnotherHistory(connection: Connection, from: number): Promise<boolean> {
    const newest = this.#newest;
    if (!newest) return false;
    const page = await connection.request('history', { before: newest.id + 1, limit: 1 });
    if (page.last < from) return true;
    const same = page.messages[0];
    return same !== undefined && same.id === newest.id && (same.user !== newest.user || same.time !== newest.time);
  }

  #reset(messages: ChatMessage[], reason: ResetReason): void {
    const newest = messages.at(-1);
    this.#newest = newest && { id: newest.id, user: newest.user, time: newest.time };
    this.emit('reset', messages, reason);
  }

  async #identify(connection: Connection): Promise<void> {
    if (this.#token !== undefined) {
      try {
        const reply = await connection.request('resume', { token: this.#token });
        this.#username = reply.username;
        return;
      } catch (error) {
        if (!(error instanceof ParleyError) || error.code !== 'NOT_LOGGED_IN') throw error;
        this.#token = undefined;
      }
    }
    if (this.#username === undefined) return;
    try {
      const reply = await connection.request('login', { username: this.#username });
      this.#loggedIn(reply.username, reply.token);
    } catch (error) {
      if (!(error instanceof ParleyError) || error.code !== 'INVALID_USERNAME') throw error;
      this.#refused(error);
    }
  }

  async #logInOn(connection: Connection, username: string): Promise<string> {
    const reply = await connection.request('login', { username });
    this.#loggedIn(reply.username, reply.token);
    if (this.#following !== connection) await this.#follow(connection);
    void this.#pump();
    return reply.username;
  }

  /** Uses the name a login() left while offline, on a connection that is up. */
  async #logInWaiting(connection: Connection, username: string): Promise<void> {
    try {
      await this.#logInOn(connection, username);
    } catch (error) {
      const reason = toParleyError(error);
      if (reason.code === 'INVALID_USERNAME') this.#refused(reason);
      // Anything else lost the connection: the next one logs in with the name.
    }
  }

  #loggedIn(username: string, token: string): void {
    this.#username = username;
    this.#token = token;
    this.emit('identity', username);
    const waiting = this.#waitingLogin;
    this.#waitingLogin = undefined;
    waiting?.resolve(username);
  }

  /** The server refused the name: retrying it cannot help; go on reading, let the user pick another. */
  #refused(error: ParleyError): void {
    this.#username = undefined;
    this.emit('identity', undefined);
    const waiting = this.#waitingLogin;
    this.#waitingLogin = undefined;
    if (waiting) waiting.reject(error);
    else this.emit('problem', error);
  }

  /**
   * The server ended our login (a logout in another window or on another node). The token is
   * dead, and logging in again under the same name on the next reconnect would undo the logout,
   * so both are forgotten; the connection stays, and queued sends wait for the next login.
   */
  #sessionEnded(reason: string): void {
    if (this.#token === undefined) return;
    this.#token = undefined;
    this.#username = undefined;
    this.#following = undefined;
    this.emit('identity', undefined);
    this.emit('problem', new ParleyError('NOT_LOGGED_IN', `logged out: ${reason}`));
  }

  #applyChange(push: ChangePush): void {
    if (this.#last !== undefined && push.cursor <= this.#last) return;
    this.#last = push.cursor;
    if (push.event === 'message') {
      const { id, user, time } = push.message;
      this.#newest = { id, user, time };
      this.emit('message', push.message, push.cursor);
    } else this.emit('delete', push.id, push.cursor);
  }

  #lost(connection: Connection, error: ParleyError | undefined): void {
    if (this.#state.kind === 'closed') return;
    if (this.#connection !== connection) return; // still preparing: #connect handles the failure
    this.#connection = undefined;
    this.#scheduleReconnect(error ?? this.#lostError());
  }

  #lostError(): ParleyError {
    return new ParleyError('DISCONNECTED', `lost the connection to ${this.host}:${this.port}`);
  }

  #scheduleReconnect(error: ParleyError): void {
    // A wait the server asked for (a goodbye, a refusal at hello such as TOO_MANY_CONNECTIONS)
    // comes first: retrying sooner is refused again, and adds to the load that caused it.
    const retryAfter = error.retryAfter ?? this.#goodbyeRetryAfter;
    this.#goodbyeRetryAfter = undefined;
    const delay =
      retryAfter !== undefined
        ? retryAfterDelay(retryAfter)
        : backoffDelay(Math.max(1, this.#attempt), this.#options.backoff ?? DEFAULT_BACKOFF);
    this.#later(delay, () => void this.#connect());
    const isRestarting = this.#goodbyeAt > 0 && Date.now() - this.#goodbyeAt < RESTART_GRACE_MS;
    this.#setState({ kind: 'offline', error, retryAt: Date.now() + delay, attempt: this.#attempt, isRestarting });
  }

  #keepAlive(connection: Connection): void {
    const interval = this.#options.keepaliveMs ?? DEFAULT_KEEPALIVE_MS;
    const ping = () => {
      if (this.#connection !== connection) return;
      connection.request('ping', {}, { timeoutMs: interval }).then(
        () => this.#later(interval, ping),
        (error: unknown) => {
          const reason = toParleyError(error);
          if (reason.code === 'TIMEOUT') {
            connection.close(new ParleyError('TIMEOUT', `${this.host}:${this.port} stopped answering`));
          }
        },
      );
    };
    this.#later(interval, ping);
  }

  async #pump(): Promise<void> {
    if (this.#isPumping || this.#isHoldingSends) return;
    this.#isPumping = true;
    try {
      while (this.#queue.length > 0 && this.#connection && this.#token !== undefined) {
        const connection = this.#connection;
        const item = this.#queue[0]!;
        try {
          const reply = await connection.request('send', { text: item.text, clientId: item.clientId });
          this.#queue.shift();
          this.emit('queue');
          item.resolve(reply);
        } catch (caught) {
          const error = toParleyError(caught);
          if (WAIT_AND_RESEND.has(error.code)) {
            this.#holdSends(error);
            return;
          }
          // The login ended while this send was on its way: it waits for the next login.
          if (error.code === 'NOT_LOGGED_IN' && this.#token === undefined) return;
          if (RETRYABLE.has(error.code)) {
            // Kept at the head of the queue; the next connection sends it again, same clientId.
            if (!connection.isClosed) connection.close(error);
            return;
          }
          this.#queue.shift();
          this.emit('queue');
          item.reject(error);
        }
      }
    } finally {
      this.#isPumping = false;
    }
  }

  /** Kept at the head of the queue; sent again, same clientId, once the server's wait is over. */
  #holdSends(refusal: ParleyError): void {
    const delay = retryAfterDelay(refusal.retryAfter ?? DEFAULT_RETRY_AFTER_SECONDS);
    this.#isHoldingSends = true;
    this.#later(delay, () => {
      this.#isHoldingSends = false;
      void this.#pump();
    });
    const seconds = Math.max(1, Math.round(delay / 1000));
    this.emit('problem', new ParleyError(refusal.code, `${refusal.message} (sending again in ${seconds}s)`, refusal.retryAfter));
  }

  #requireOnline(): Connection {
    if (this.#connection && this.#state.kind === 'online') return this.#connection;
    throw new ParleyError('DISCONNECTED', 'not connected right now; try again once reconnected');
  }

  /** A method, not an inline check, because close() may run while #connect awaits. */
  #isClosed(): boolean {
    return this.#state.kind === 'closed';
  }

  #later(ms: number, run: () => void): void {
    if (this.#isClosed()) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      run();
    }, ms);
    this.#timers.add(timer);
  }

  #setState(state: SessionState): void {
    this.#state = state;
    this.emit('state', state);
  }
}
