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
// Sends once: each queued send has a clientId made when it was typed. A send whose reply was
// lost with the connection is sent again with the same clientId, and the server answers with
// the original message (duplicate: true) instead of storing it twice. Sends go one at a time,
// so they are stored in the order they were typed.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { DEFAULT_PAGE_SIZE } from '../../protocol/limits.js';
import type { ChatMessage } from '../../protocol/message.js';
import type { ReplyBodies } from '../../protocol/tcp-frames.js';
import { checkUsername } from '../../protocol/username.js';
import { DEFAULT_BACKOFF, backoffDelay, type BackoffOptions } from './backoff.js';
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

export type SessionState =
  | { kind: 'connecting'; attempt: number }
  | { kind: 'online' }
  /** Waiting until `retryAt` (epoch ms) before the next attempt. */
  | { kind: 'offline'; error: ParleyError; retryAt: number; attempt: number }
  | { kind: 'closed' };

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
  /** Replace everything shown with these messages (first load, or after a gap). */
  reset: [messages: ChatMessage[]];
  message: [message: ChatMessage, cursor: number];
  delete: [id: number, cursor: number];
  /** Logged in (a name) or not (undefined). */
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

/** Errors after which a send is worth retrying on the next connection rather than dropping. */
const RETRYABLE = new Set(['DISCONNECTED', 'TIMEOUT', 'SHUTTING_DOWN', 'UNAVAILABLE', 'NOT_LOGGED_IN']);

export class Session extends EventEmitter<SessionEvents> {
  readonly host: string;
  readonly port: number;
  readonly #options: SessionOptions;
  #state: SessionState = { kind: 'connecting', attempt: 1 };
  #connection: Connection | undefined;
  /** The connection our subscription lives on. */
  #following: Connection | undefined;
  #username: string | undefined;
  #token: string | undefined;
  #last: number | undefined;
  #attempt = 0;
  #retryAfterMs: number | undefined;
  #hasBeenOnline = false;
  #queue: Outgoing[] = [];
  #isPumping = false;
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

  /** Logs in on the live connection; later reconnects resume this login. */
  async login(username: string): Promise<string> {
    const check = checkUsername(username);
    if (!check.ok) throw new ParleyError('INVALID_USERNAME', check.message);
    const connection = this.#requireOnline();
    const reply = await connection.request('login', { username: check.username });
    this.#username = reply.username;
    this.#token = reply.token;
    if (this.#following !== connection) await this.#follow(connection);
    this.emit('identity', reply.username);
    void this.#pump();
    return reply.username;
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

  /** A page of older messages, for scrolling back. */
  history(params: RequestParams<'history'>): Promise<ReplyBodies['history']> {
    return this.#requireOnline().request('history', params);
  }

  /** Stops for good; sends still queued reject with DISCONNECTED. */
  close(): void {
    if (this.#state.kind === 'closed') return;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    const connection = this.#connection;
    this.#connection = undefined;
    connection?.close();
    const error = new ParleyError('DISCONNECTED', 'the client closed before this message was sent');
    for (const item of this.#queue.splice(0)) item.reject(error);
    this.#setState({ kind: 'closed' });
  }

  async #connect(): Promise<void> {
    this.#attempt++;
    this.#setState({ kind: 'connecting', attempt: this.#attempt });
    let connection: Connection | undefined;
    try {
      connection = await Connection.open(this.#options);
      if (this.#isClosed()) return connection.close();
      await this.#prepare(connection);
    } catch (error) {
      connection?.close();
      if (!this.#isClosed()) this.#scheduleReconnect(toParleyError(error));
      return;
    }
    if (connection.isClosed || this.#isClosed()) return;
    this.#attempt = 0;
    this.#hasBeenOnline = true;
    this.#setState({ kind: 'online' });
    this.#keepAlive(connection);
    void this.#pump();
  }

  /** Identify, then catch up and subscribe. Changes pushed meanwhile are already handled. */
  async #prepare(connection: Connection): Promise<void> {
    connection.on('change', (push) => this.#applyChange(push));
    connection.on('goodbye', (push) => {
      if (push.retryAfter !== undefined) this.#retryAfterMs = push.retryAfter * 1000;
    });
    connection.on('close', (error) => this.#lost(connection, error));
    await this.#identify(connection);
    // Reading needs a login too; without one the feed starts when login() succeeds.
    if (this.#token !== undefined) await this.#follow(connection);
    // The connection becomes the current one only now, so nothing is sent on it (queued
    // sends, deletes) before the server knows who we are.
    this.#connection = connection;
  }

  /** Loads the newest page (first time) or replays from our cursor, then goes live. */
  async #follow(connection: Connection): Promise<void> {
    const backlog = this.#options.backlog ?? DEFAULT_PAGE_SIZE;
    if (this.#last === undefined && backlog > 0) {
      const page = await connection.request('history', { limit: backlog });
      this.#last = page.last;
      this.emit('reset', page.messages);
    }
    const reply = await connection.request('subscribe', this.#last === undefined ? {} : { last: this.#last });
    if (reply.missed && backlog > 0) {
      // The server no longer keeps everything after our cursor: what it replayed is not the
      // whole story, so start over from its newest page.
      const page = await connection.request('history', { limit: backlog });
      this.emit('reset', page.messages);
      this.emit('problem', new ParleyError('NOT_FOUND', 'some messages from while you were away are no longer kept'));
    }
    this.#last = Math.max(this.#last ?? 0, reply.last);
    this.#following = connection;
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
      this.#username = reply.username;
      this.#token = reply.token;
      this.emit('identity', reply.username);
    } catch (error) {
      if (!(error instanceof ParleyError) || error.code !== 'INVALID_USERNAME') throw error;
      // Retrying the same name cannot help; go on reading and let the user pick another.
      this.#username = undefined;
      this.emit('identity', undefined);
      this.emit('problem', error);
    }
  }

  #applyChange(push: ChangePush): void {
    if (this.#last !== undefined && push.cursor <= this.#last) return;
    this.#last = push.cursor;
    if (push.event === 'message') this.emit('message', push.message, push.cursor);
    else this.emit('delete', push.id, push.cursor);
  }

  #lost(connection: Connection, error: ParleyError | undefined): void {
    if (this.#state.kind === 'closed') return;
    if (this.#connection !== connection) return; // still preparing: #connect handles the failure
    this.#connection = undefined;
    this.#scheduleReconnect(error ?? new ParleyError('DISCONNECTED', `lost the connection to ${this.host}:${this.port}`));
  }

  #scheduleReconnect(error: ParleyError): void {
    const delay = this.#retryAfterMs ?? backoffDelay(Math.max(1, this.#attempt), this.#options.backoff ?? DEFAULT_BACKOFF);
    this.#retryAfterMs = undefined;
    this.#later(delay, () => void this.#connect());
    this.#setState({ kind: 'offline', error, retryAt: Date.now() + delay, attempt: this.#attempt });
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
    if (this.#isPumping) return;
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
          if (error.code === 'RATE_LIMITED') {
            this.#later((error.retryAfter ?? 1) * 1000, () => void this.#pump());
            return;
          }
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

  #requireOnline(): Connection {
    if (this.#connection && this.#state.kind === 'online') return this.#connection;
    throw new ParleyError('DISCONNECTED', `not connected to ${this.host}:${this.port} right now; try again once reconnected`);
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
