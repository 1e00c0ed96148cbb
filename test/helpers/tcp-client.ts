// A raw TCP test client for the chat protocol: sends frames or raw bytes, and lets a test
// await the next frame matching a predicate, so nothing depends on timing.
import { connect, type Socket } from 'node:net';
import { FrameDecoder } from '../../protocol/frame-decoder.js';
import type { ErrorReply, ServerFrame } from '../../protocol/tcp-frames.js';

// Named keys only: empty replies are Record<string, never>, whose index signature would swallow them.
type NamedKeys<T> = keyof { [K in keyof T as string extends K ? never : K]: T[K] };
type KeysOf<U> = U extends unknown ? NamedKeys<U> : never;
type ValueOf<U, K extends PropertyKey> = U extends unknown ? (K extends NamedKeys<U> ? U[K] : never) : never;
/**
 * Any frame the server sends, flattened: every field of every reply and push, typed as
 * protocol/tcp-frames.ts says. A test reads the fields it expects of a frame and asserts on
 * them; a field the frame lacks is undefined at run time and fails that assertion.
 */
export type Frame = Omit<{ [K in KeysOf<ServerFrame>]: ValueOf<ServerFrame, K> }, 'error'> & {
  // Optional fields of an error (retryAfter) are read the same way.
  error: Required<ErrorReply['error']>;
};

export class RawClient {
  readonly socket: Socket;
  readonly frames: Frame[] = [];
  readonly closed: Promise<void>;
  /** Frames already handed to a caller of next(); each frame is returned once. */
  #consumed = new WeakSet<Frame>();
  #waiters: Array<{ match: (f: Frame) => boolean; resolve: (f: Frame) => void; reject: (error: Error) => void }> = [];
  #nextId = 1;
  #isClosed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    const decoder = new FrameDecoder(16 * 1024 * 1024);
    socket.on('data', (chunk: Buffer) => {
      for (const line of decoder.push(chunk).frames) this.#receive(JSON.parse(line) as Frame);
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    // Nothing can match once the connection is gone: waiting out the timeout would only slow tests.
    socket.once('close', () => {
      this.#isClosed = true;
      for (const waiter of this.#waiters.splice(0)) waiter.reject(this.#closedError());
    });
  }

  #closedError(): Error {
    return new Error(`the connection closed before a matching frame arrived; the last frames were ${JSON.stringify(this.frames.slice(-5)).slice(0, 2000)}`);
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    const socket = connect({ port, host });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new RawClient(socket);
    await client.next((f) => f.event === 'hello');
    return client;
  }

  #receive(frame: Frame): void {
    this.frames.push(frame);
    const waiter = this.#waiters.find((w) => w.match(frame));
    if (waiter) {
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
      this.#consumed.add(frame);
      waiter.resolve(frame);
    }
  }

  /** The earliest frame not yet returned by next() that matches, waiting for it if need be. */
  next(match: (frame: Frame) => boolean, timeoutMs = 10_000): Promise<Frame> {
    const found = this.frames.find((f) => !this.#consumed.has(f) && match(f));
    if (found) {
      this.#consumed.add(found);
      return Promise.resolve(found);
    }
    if (this.#isClosed) return Promise.reject(this.#closedError());
    return new Promise((resolve, reject) => {
      const recent = () => JSON.stringify(this.frames.slice(-5)).slice(0, 2000);
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.match !== match);
        reject(new Error(`no matching frame within ${timeoutMs} ms; the last frames were ${recent()}`));
      }, timeoutMs);
      this.#waiters.push({
        match,
        resolve: (frame) => {
          clearTimeout(timer);
          resolve(frame);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
  }

  sendRaw(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Sends a request with a fresh id and resolves with its reply. */
  request(op: string, fields: Record<string, unknown> = {}): Promise<Frame> {
    const id = this.#nextId++;
    this.sendRaw(`${JSON.stringify({ id, op, ...fields })}\n`);
    return this.next((f) => f.id === id && 'ok' in f);
  }

  async login(username: string): Promise<Frame> {
    const reply = await this.request('login', { username });
    if (!reply.ok) throw new Error(`login failed: ${JSON.stringify(reply)}`);
    return reply;
  }

  close(): void {
    this.socket.destroy();
  }
}
