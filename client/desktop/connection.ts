// One TCP connection to a Parley server: the socket, NDJSON framing, request/reply matching by
// id with a timeout per request, and typed events for what the server pushes. It never
// reconnects and never draws anything; session.ts adds reconnects, and the screen, the script
// modes, the bench and the tests all build on this.
//
//   client                                   server
//     | ---- connect ----------------------->  |
//     | <--- {"event":"hello",...} ----------  |   open() resolves here
//     | ---- {"id":1,"op":"login",...} ----->  |
//     | <--- {"event":"message",...} --------  |   pushes may come at any time,
//     | <--- {"id":1,"ok":true,...} ---------  |   replies echo the request's id
//
// A push that a request causes (subscribe's backlog) is emitted before that request's reply
// resolves, because both come off the socket in order and are handled synchronously.
import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import { FrameDecoder, encodeFrame } from '../../protocol/frame-decoder.js';
import { MAX_FRAME_BYTES } from '../../protocol/limits.js';
import type { Operation, Push, ReplyBodies, Request, RequestId } from '../../protocol/tcp-frames.js';
import { ParleyError, describeSocketError } from './errors.js';
import { parseServerFrame } from './server-frames.js';

export const DEFAULT_HOST = 'localhost';
export const DEFAULT_PORT = 8783;
/** Parley's HTTP port by default: the port people most often give by mistake. */
const DEFAULT_HTTP_PORT = 8784;
/**
 * Sent as soon as the socket opens. A Parley server answers it after its hello, and the reply
 * is dropped (no request has id 0). An HTTP server says nothing until it reads a request, so
 * without this line the client would wait out the whole connect timeout; this line makes it
 * answer "HTTP/1.1 400" at once, and the client can say which port to use instead.
 */
const PROBE = encodeFrame({ id: 0, op: 'ping' });
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** A request's fields besides `id` and `op`. */
export type RequestParams<Op extends Operation> = Omit<Extract<Request, { op: Op }>, 'id' | 'op'>;

export type HelloPush = Extract<Push, { event: 'hello' }>;
export type ChangePush = Extract<Push, { event: 'message' | 'delete' }>;
export type GoodbyePush = Extract<Push, { event: 'goodbye' }>;
export type SessionEndedPush = Extract<Push, { event: 'session-ended' }>;

export interface ConnectionOptions {
  host?: string;
  port?: number;
  /** Covers the TCP handshake and the server's hello. */
  connectTimeoutMs?: number;
  /** How long a request waits for its reply unless the call says otherwise. */
  requestTimeoutMs?: number;
}

export interface ConnectionEvents {
  /** A message or deletion pushed by the server. */
  change: [push: ChangePush];
  /** The server is about to close (shutdown or restart). */
  goodbye: [push: GoodbyePush];
  /** The login this connection used ended (a logout elsewhere); the connection stays open. */
  sessionEnded: [push: SessionEndedPush];
  /** An error frame not tied to a request (id null), e.g. IDLE_TIMEOUT before a close. */
  serverError: [error: ParleyError];
  /** The socket closed; `error` says why when it was not our own close(). */
  close: [error: ParleyError | undefined];
}

interface Pending {
  op: Operation;
  resolve: (body: never) => void;
  reject: (error: ParleyError) => void;
  timer: NodeJS.Timeout;
}

export class Connection extends EventEmitter<ConnectionEvents> {
  readonly host: string;
  readonly port: number;
  readonly hello: HelloPush;
  readonly #socket: Socket;
  readonly #requestTimeoutMs: number;
  readonly #pending = new Map<RequestId, Pending>();
  #nextId = 1;
  #closeError: ParleyError | undefined;
  /** Why the server is about to close, so the close carries that reason, not "closed". */
  #farewell: ParleyError | undefined;
  #isClosed = false;

  /** Connects and waits for the server's hello. Rejects with UNREACHABLE or BAD_FRAME. */
  static open(options: ConnectionOptions = {}): Promise<Connection> {
    const host = options.host ?? DEFAULT_HOST;
    const port = options.port ?? DEFAULT_PORT;
    const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      socket.write(PROBE);
      const decoder = new FrameDecoder(MAX_FRAME_BYTES);
      const fail = (error: ParleyError) => {
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      };
      const timer = setTimeout(
        () => fail(new ParleyError('UNREACHABLE', `cannot reach ${host}:${port}: no answer within ${timeoutMs / 1000}s`)),
        timeoutMs,
      );
      const onError = (error: Error) => fail(new ParleyError('UNREACHABLE', describeSocketError(error, host, port)));
      const onClose = () => fail(new ParleyError('UNREACHABLE', `${host}:${port} closed the connection before saying hello`));
      const onData = (chunk: Buffer) => {
        if (decoder.pendingBytes === 0 && chunk.subarray(0, 5).toString('latin1') === 'HTTP/') {
          return fail(new ParleyError('BAD_FRAME', wrongPortMessage(host, port)));
        }
        const decoded = decoder.push(chunk);
        if (!decoded.ok) return fail(new ParleyError('BAD_FRAME', `${host}:${port} does not look like a Parley server`));
        if (decoded.frames.length === 0) return;
        const parsed = parseServerFrame(decoded.frames[0]!);
        const frame = parsed.ok ? parsed.frame : undefined;
        // A server that is full or shutting down says why instead of hello, then closes.
        if (frame && 'ok' in frame && !frame.ok) {
          return fail(new ParleyError(frame.error.code, frame.error.message, frame.error.retryAfter));
        }
        if (!frame || !('event' in frame) || frame.event !== 'hello') {
          return fail(new ParleyError('BAD_FRAME', `${host}:${port} does not look like a Parley server`));
        }
        clearTimeout(timer);
        // Only our own listeners: net.Socket keeps internal ones (closing on the peer's FIN).
        socket.off('error', onError).off('close', onClose).off('data', onData);
        const connection = new Connection(socket, decoder, frame, host, port, options);
        resolve(connection);
        // Frames that came in the same chunk as the hello (unlikely, but allowed).
        connection.#handleFrames(decoded.frames.slice(1));
      };
      socket.on('error', onError).on('close', onClose).on('data', onData);
    });
  }

  private constructor(
    socket: Socket,
    decoder: FrameDecoder,
    hello: HelloPush,
    host: string,
    port: number,
    options: ConnectionOptions,
  ) {
    super();
    this.#socket = socket;
    this.hello = hello;
    this.host = host;
    this.port = port;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    socket.on('data', (chunk: Buffer) => {
      const decoded = decoder.push(chunk);
      this.#handleFrames(decoded.frames);
      if (!decoded.ok) {
        this.#destroy(
          new ParleyError('BAD_FRAME', `the server sent a line of ${decoded.size} bytes; the limit is ${decoded.limit}`),
        );
      }
    });
    socket.on('error', (error) => this.#destroy(new ParleyError('DISCONNECTED', describeSocketError(error, host, port))));
    socket.on('close', () =>
      this.#destroy(this.#farewell ?? new ParleyError('DISCONNECTED', `the connection to ${host}:${port} closed`)),
    );
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** Why the connection closed (DISCONNECTED when it was our own close()); undefined while open. */
  get closeReason(): ParleyError | undefined {
    return this.#closeError;
  }

  /**
   * Sends one request and resolves with its reply's body (without `id` and `ok`). Rejects with
   * the server's error code, TIMEOUT, or DISCONNECTED.
   */
  request<Op extends Operation>(
    op: Op,
    params: RequestParams<Op>,
    options: { timeoutMs?: number } = {},
  ): Promise<ReplyBodies[Op]> {
    if (this.#isClosed) {
      return Promise.reject(this.#closeError ?? new ParleyError('DISCONNECTED', 'the connection is closed'));
    }
    const id = this.#nextId++;
    const timeoutMs = options.timeoutMs ?? this.#requestTimeoutMs;
    return new Promise<ReplyBodies[Op]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new ParleyError('TIMEOUT', `the server did not answer "${op}" within ${timeoutMs / 1000}s`));
      }, timeoutMs);
      this.#pending.set(id, { op, resolve: resolve as (body: never) => void, reject, timer });
      this.#socket.write(encodeFrame({ ...params, id, op }));
    });
  }

  /**
   * Closes the socket; requests still waiting reject with DISCONNECTED, or with `reason`, which
   * the close event then carries too (a keepalive that timed out says so).
   */
  close(reason?: ParleyError): void {
    this.#destroy(reason);
  }

  #handleFrames(frames: string[]): void {
    for (const line of frames) {
      if (this.#isClosed) return;
      const parsed = parseServerFrame(line);
      if (!parsed.ok) {
        this.#destroy(new ParleyError('BAD_FRAME', parsed.message));
        return;
      }
      const frame = parsed.frame;
      if (frame === undefined) continue;
      if ('event' in frame) {
        if (frame.event === 'message' || frame.event === 'delete') this.emit('change', frame);
        else if (frame.event === 'session-ended') this.emit('sessionEnded', frame);
        else if (frame.event === 'goodbye') {
          this.#farewell = new ParleyError('SHUTTING_DOWN', `server said goodbye: ${frame.reason}`, frame.retryAfter);
          this.emit('goodbye', frame);
        }
        continue;
      }
      const pending = frame.id === null ? undefined : this.#pending.get(frame.id);
      if (frame.ok) {
        if (!pending) continue;
        this.#settle(frame.id!);
        const { id: _id, ok: _ok, ...body } = frame;
        pending.resolve(body as never);
        continue;
      }
      const error = new ParleyError(frame.error.code, frame.error.message, frame.error.retryAfter);
      if (pending) {
        this.#settle(frame.id!);
        pending.reject(error);
      } else {
        this.#farewell = error;
        this.emit('serverError', error);
      }
    }
  }

  #settle(id: RequestId): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.#pending.delete(id);
  }

  #destroy(error: ParleyError | undefined): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#closeError = error ?? new ParleyError('DISCONNECTED', 'the connection was closed');
    this.#socket.destroy();
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      this.#pending.delete(id);
      pending.reject(this.#closeError);
    }
    this.emit('close', error);
  }
}

function wrongPortMessage(host: string, port: number): string {
  if (port === DEFAULT_HTTP_PORT) return `${port} is Parley's HTTP port; the chat protocol is on ${DEFAULT_PORT}`;
  return `${host}:${port} answers in HTTP, not in Parley's chat protocol; use the server's TCP port (${DEFAULT_PORT} by default)`;
}
