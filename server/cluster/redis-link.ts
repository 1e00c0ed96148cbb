// The node's connections to Redis, all node-redis clients (no protocol code of ours):
//
//   commands   writes (the Lua scripts), session reads and writes, health pings
//   follower   XREAD BLOCK and the join script: a blocked connection answers nothing else
//   logouts    pub/sub only (a subscribed connection runs no other commands)
//
// Each is named `parley-<node>-<role>` in Redis (CLIENT LIST shows who is connected).
//
// Fail fast, never crash: `disableOfflineQueue` makes a command sent while Redis is unreachable
// fail at once instead of waiting in memory for a reconnect (a chat write that lands minutes
// later, after the user gave up, is worse than a clear 503), and run()'s deadline bounds a
// command sent to a Redis that stopped answering. Once one command has gone unanswered past its
// deadline, the next ones fail at once until Redis answers again (it answers in order, so the
// late reply to the first one is that sign): a request that checks a session and then writes
// waits for a silent Redis once, not twice. A half-open connection (Redis's host crashed, no
// RST) is dropped and reconnected in seconds, not after TCP keepalive's minutes: the follower's
// socket has an idle deadline of its read's BLOCK time plus a grace, and a command connection
// whose command stays unanswered that long after its deadline is destroyed and opened again
// (which rejects the command, so the commands after it are tried again).
// Reconnecting is node-redis's job: exponential backoff from 50 ms to 2 s with jitter,
// forever. Every client has an 'error' listener: an EventEmitter error without one would take
// the process down.
import { createClient, ClientOfflineError, ClientClosedError, ErrorReply } from 'redis';
import type { EventListener } from '../chat/chat.js';
import { ApiError } from '../errors.js';
import { SCRIPTS } from './write-scripts.js';


export interface LinkOptions {
  url: string;
  /** This node's name, in the connections' names. */
  nodeName: string;
  /** How long the follower's XREAD blocks; its socket may stay silent that long plus a grace. */
  followBlockMs: number;
  /** Longest a command may wait for its answer. */
  commandTimeoutMs: number;
  /** Unexpected failures (a script error, a reply Parley does not understand), with the error. */
  onError: (event: string, error: unknown) => void;
  onEvent: EventListener;
}

/**
 * A command that changes something, for the sentence its client gets when no answer says whether
 * it ran (its answer came too late, or the connection broke on the way).
 */
export interface Write {
  /** What the server could not do: "store your message". */
  what: string;
  /** What it may have done: "stored your message". */
  done: string;
  /** Why trying again is safe: "a resend with the same clientId is never a duplicate". */
  retry: string;
}

const RETRY_FIRST_MS = 50;
const RETRY_MAX_MS = 2000;
const RETRY_JITTER_MS = 100;
/**
 * Silence beyond a blocked read's own time after which the follower's connection is dead; the
 * command connection gets as long after a command's deadline.
 */
const READ_GRACE_MS = 3000;
/** Seconds a client refused with UNAVAILABLE is asked to wait. */
export const RETRY_AFTER_SECONDS = 2;

function newClient(options: LinkOptions, role: string) {
  const isFollower = role === 'follower';
  return createClient({
    url: options.url,
    name: `parley-${options.nodeName.replace(/[^\w.:-]/g, '_')}-${role}`,
    disableOfflineQueue: true,
    commandOptions: isFollower ? {} : { timeout: options.commandTimeoutMs },
    socket: {
      connectTimeout: Math.max(1000, options.commandTimeoutMs),
      ...(isFollower ? { socketTimeout: options.followBlockMs + READ_GRACE_MS } : {}),
      reconnectStrategy: (retries: number) =>
        Math.min(RETRY_FIRST_MS * 2 ** Math.min(retries, 16), RETRY_MAX_MS) + Math.floor(Math.random() * RETRY_JITTER_MS),
    },
    scripts: SCRIPTS,
  });
}

export type CommandClient = ReturnType<typeof newClient>;

export class RedisLink {
  readonly commands: CommandClient;
  readonly follower: CommandClient;
  readonly logouts: CommandClient;
  readonly #options: LinkOptions;
  /** Roles currently cut off from Redis, so an outage is logged once, not per retry. */
  readonly #down = new Set<string>();
  #lastError: unknown;
  /** Settles when Redis answers the command that went unanswered past its deadline. */
  #stalled: Promise<void> | null = null;
  /** Replaces the command connection when the stalled command stays unanswered. */
  #stallTimer: NodeJS.Timeout | undefined;
  #isClosed = false;

  constructor(options: LinkOptions) {
    this.#options = options;
    this.commands = this.#watch(newClient(options, 'commands'), 'commands');
    this.follower = this.#watch(newClient(options, 'follower'), 'follower');
    this.logouts = this.#watch(newClient(options, 'logouts'), 'logouts');
  }

  /** True while the command connection is up (writes can be tried). */
  get isUp(): boolean {
    return this.commands.isReady;
  }

  /**
   * Connects all three; rejects with a sentence naming the URL when Redis does not answer
   * within `timeoutMs` (the clients are closed then).
   */
  async connect(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`cannot reach Redis at ${redact(this.#options.url)} within ${timeoutMs / 1000} s; is it running, and is --cluster right?`)), timeoutMs);
    });
    try {
      await Promise.race([Promise.all([this.commands.connect(), this.follower.connect(), this.logouts.connect()]), deadline]);
    } catch (error) {
      this.destroy();
      // node-redis retries a refused handshake like a refused connection; say which it was.
      const last = this.#lastError;
      if (last instanceof ErrorReply) {
        throw new Error(`Redis at ${redact(this.#options.url)} refused the connection (${last.message}); check the user, password and database in --cluster`);
      }
      throw last === undefined ? error : new Error(`${(error as Error).message} (${(last as Error).message ?? String(last)})`);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Runs a command; an unreachable, failing or silent Redis becomes UNAVAILABLE with a sentence.
   * `timeoutMs` is what is left of the request's budget. (node-redis's own `timeout` covers only
   * the wait before a command is sent; once sent, only this deadline bounds the wait.)
   */
  async run<T>(what: string | Write, command: (client: CommandClient) => Promise<T>, timeoutMs = this.#options.commandTimeoutMs): Promise<T> {
    if (this.#stalled !== null || timeoutMs <= 0) throw this.unavailable(what, new NoAnswerError(false));
    // disableOfflineQueue covers single commands only: a MULTI would wait for the reconnect.
    if (!this.commands.isReady) throw this.unavailable(what, new ClientOfflineError());
    const answer = command(this.commands);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      // One more turn of the event loop first: a reply that arrived while this process was busy
      // is read in the poll phase, which runs after timers, and must win over the deadline.
      timer = setTimeout(() => setImmediate(() => reject(new NoAnswerError(true))), timeoutMs);
    });
    try {
      return await Promise.race([answer, deadline]);
    } catch (error) {
      if (error instanceof NoAnswerError) this.#stallUntil(answer);
      throw this.unavailable(what, error);
    } finally {
      clearTimeout(timer);
    }
  }

  unavailable(purpose: string | Write, error: unknown): ApiError {
    if (error instanceof ApiError) return error;
    const write = typeof purpose === 'string' ? undefined : purpose;
    const what = typeof purpose === 'string' ? purpose : purpose.what;
    let sentence: string;
    if (error instanceof ErrorReply) {
      // Redis refused: out of memory, a key of the wrong type, a bug in a script.
      this.#options.onError('redis-command-failed', error);
      sentence = `the chat store (Redis) refused to ${what}; the error was logged, please try again later`;
    } else if (error instanceof ClientOfflineError || error instanceof ClientClosedError) {
      sentence = `the chat store (Redis) is unreachable, so the server cannot ${what} right now; try again in a few seconds`;
    } else {
      // A command sent and not answered may have run: Redis may be slow rather than gone (a
      // write script that started before its deadline does its work, write-scripts.ts), or the
      // connection broke while the command was on its way. One never sent did not run.
      const wasSent = !(error instanceof NoAnswerError) || error.isFirst;
      if (error instanceof NoAnswerError && wasSent) this.#options.onEvent('warn', 'redis-no-answer', { what });
      const why = error instanceof NoAnswerError ? 'the chat store (Redis) did not answer in time' : 'the connection to the chat store (Redis) broke';
      sentence =
        wasSent && write !== undefined
          ? `${why}, so the server could not confirm that it ${write.done}; try again in a few seconds (${write.retry})`
          : `${why}, so the server could not ${what}; try again in a few seconds`;
    }
    return new ApiError('UNAVAILABLE', sentence, { retryAfter: RETRY_AFTER_SECONDS });
  }

  /** Closes all three, waiting for commands already sent, at most one command budget. */
  async close(): Promise<void> {
    this.#isClosed = true;
    clearTimeout(this.#stallTimer);
    // The follower may sit in XREAD BLOCK; waiting for that answer would only delay the exit.
    if (this.follower.isOpen) this.follower.destroy();
    await Promise.all([this.#closeGently(this.commands), this.#closeGently(this.logouts)]);
  }

  destroy(): void {
    this.#isClosed = true;
    clearTimeout(this.#stallTimer);
    for (const client of [this.commands, this.follower, this.logouts]) if (client.isOpen) client.destroy();
  }

  #watch(client: CommandClient, role: string): CommandClient {
    client.on('error', (error: unknown) => {
      this.#lastError = error;
      if (this.#down.has(role)) return;
      this.#down.add(role);
      this.#options.onEvent('warn', 'redis-unreachable', { connection: role, reason: (error as Error)?.message ?? String(error) });
    });
    client.on('ready', () => {
      if (this.#down.delete(role)) this.#options.onEvent('info', 'redis-reconnected', { connection: role });
    });
    return client;
  }

  /**
   * node-redis's close() waits for every queued command's answer; on a connection that is down
   * or silent none comes, and a stopping node would hang. Such a client is destroyed instead.
   */
  async #closeGently(client: CommandClient): Promise<void> {
    if (!client.isOpen) return;
    if (client.isReady && this.#stalled === null) {
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#options.commandTimeoutMs)));
      await Promise.race([client.close(), gaveUp]);
      clearTimeout(timer);
    }
    if (client.isOpen) client.destroy();
  }

  #stallUntil(answer: Promise<unknown>): void {
    const stalled: Promise<void> = answer.then(
      () => {},
      () => {},
    ).finally(() => {
      if (this.#stalled !== stalled) return;
      this.#stalled = null;
      clearTimeout(this.#stallTimer);
    });
    this.#stalled = stalled;
    clearTimeout(this.#stallTimer);
    const giveUpMs = this.#options.followBlockMs + READ_GRACE_MS;
    this.#stallTimer = setTimeout(() => this.#reconnectCommands(giveUpMs), giveUpMs);
  }

  /**
   * A Redis that is only slow answers within the grace; past it, the connection is taken for
   * half-open (the reply would come in order, after the one still missing, so nothing on it can
   * work). destroy() rejects what is queued on it, which ends the stall.
   */
  #reconnectCommands(silentMs: number): void {
    if (this.#isClosed || !this.commands.isOpen) return;
    this.#down.add('commands');
    this.#options.onEvent('warn', 'redis-unreachable', {
      connection: 'commands',
      reason: `no answer for ${(silentMs / 1000).toFixed(1)} s after a command's deadline; connecting again`,
    });
    this.commands.destroy();
    this.commands.connect().catch(() => {}); // failures are 'error' events, logged by #watch
  }
}

class NoAnswerError extends Error {
  /** False when the command was not even sent, because an earlier one is still unanswered. */
  readonly isFirst: boolean;

  constructor(isFirst: boolean) {
    super('no answer from Redis');
    this.isFirst = isFirst;
  }
}

/** The URL without its password, for messages and logs. */
export function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
