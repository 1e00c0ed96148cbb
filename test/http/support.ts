// Helpers for the HTTP edge tests: log in and keep the cookie, read an SSE stream event by
// event, and send raw bytes (fetch and new URL() would normalise the attack paths away).
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import type { TestContext } from 'node:test';
import { startServer, type RunningServer, type ServerOptions } from '../helpers/server.js';

export async function start(t: TestContext, options: ServerOptions = {}): Promise<RunningServer> {
  const server = await startServer(options);
  t.after(() => server.kill());
  return server;
}

export interface User {
  username: string;
  cookie: string;
  /** fetch with the session cookie. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  send(text: string, clientId?: string): Promise<{ id: number; user: string; text: string; time: string }>;
}

export async function login(baseUrl: string, username: string): Promise<User> {
  const response = await fetch(`${baseUrl}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username }),
  });
  assert.equal(response.status, 200, await response.clone().text());
  const cookie = response.headers.getSetCookie()[0]!.split(';')[0]!;
  const user: User = {
    username,
    cookie,
    fetch: (path, init = {}) => fetch(`${baseUrl}${path}`, { ...init, headers: { cookie, ...(init.headers as Record<string, string>) } }),
    async send(text, clientId) {
      const sent = await user.fetch('/api/messages', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text, clientId }),
      });
      assert.equal(sent.status, 201, await sent.clone().text());
      return (await sent.json()) as { id: number; user: string; text: string; time: string };
    },
  };
  return user;
}

export function postJson(user: User, path: string, body: unknown): Promise<Response> {
  return user.fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** Asserts an error answer: status, the JSON body's code, and a sentence for a person. */
export async function assertError(response: Response, status: number, code: string): Promise<{ error: string; code: string }> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  const body = JSON.parse(text) as { error: string; code: string };
  assert.equal(body.code, code, text);
  assert.equal(typeof body.error, 'string');
  assert.ok(body.error.length > 10, `an error sentence, not "${body.error}"`);
  return body;
}

export interface SseEvent {
  id: string | undefined;
  event: string;
  data: string;
}

/**
 * Reads a text/event-stream with the spec's parsing rules (fields, comments, blank-line
 * dispatch, the last event id kept across events), so tests see what EventSource would.
 */
export class SseReader {
  readonly response: Response;
  readonly #abort: AbortController;
  readonly events: SseEvent[] = [];
  /** What EventSource would send as Last-Event-ID now. */
  lastEventId = '';
  comments: string[] = [];
  retry: number | undefined;
  readonly ended: Promise<void>;
  #consumed = 0;
  readonly #waiters = new Set<() => void>();

  constructor(response: Response, abort: AbortController) {
    this.response = response;
    this.#abort = abort;
    this.ended = this.#read();
  }

  static async open(user: User, path = '/api/events', headers: Record<string, string> = {}): Promise<SseReader> {
    const abort = new AbortController();
    const response = await user.fetch(path, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
    if (response.status !== 200) assert.fail(`GET ${path} answered ${response.status}: ${await response.text()}`);
    return new SseReader(response, abort);
  }

  async #read(): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    let data: string[] = [];
    let event = '';
    let sawId = false;
    const reader = this.response.body!.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let newline: number;
        while ((newline = buffer.indexOf('\n')) !== -1) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          if (line === '') {
            if (data.length > 0) this.events.push({ id: sawId ? this.lastEventId : undefined, event: event || 'message', data: data.join('\n') });
            data = [];
            event = '';
            sawId = false;
            this.#notify();
            continue;
          }
          if (line.startsWith(':')) {
            this.comments.push(line.slice(1).trim());
            continue;
          }
          const colon = line.indexOf(':');
          const field = colon === -1 ? line : line.slice(0, colon);
          const fieldValue = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'data') data.push(fieldValue);
          else if (field === 'event') event = fieldValue;
          else if (field === 'id') {
            this.lastEventId = fieldValue;
            sawId = true;
          } else if (field === 'retry') this.retry = Number(fieldValue);
        }
      }
    } catch {
      // the stream was cut; `ended` resolves either way
    }
    this.#notify();
  }

  #notify(): void {
    for (const waiter of this.#waiters) waiter();
    this.#waiters.clear();
  }

  /** Resolves at the next dispatched block or the end of the stream, or after `ms`. */
  #changed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#waiters.add(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** The next event not yet returned that matches, waiting for it. */
  async next(match: (event: SseEvent) => boolean = () => true, timeoutMs = 10_000): Promise<SseEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.#consumed < this.events.length) {
        const event = this.events[this.#consumed++]!;
        if (match(event)) return event;
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(this.events.slice(-5))}`);
      const isEnded = await Promise.race([this.#changed(remaining).then(() => false), this.ended.then(() => true)]);
      if (isEnded && this.#consumed >= this.events.length) throw new Error(`the stream ended; events: ${JSON.stringify(this.events.slice(-5))}`);
    }
  }

  /** Resolves once a comment line (`: text`) has arrived. */
  async comment(text: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.comments.includes(text)) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`no "${text}" comment within ${timeoutMs} ms; got ${JSON.stringify(this.comments)}`);
      const isEnded = await Promise.race([this.#changed(remaining).then(() => false), this.ended.then(() => true)]);
      if (isEnded && !this.comments.includes(text)) throw new Error(`the stream ended without a "${text}" comment`);
    }
  }

  /** Resolves once the server has sent everything up to and including `cursor` (as an id). */
  async reach(cursor: number, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Number(this.lastEventId) < cursor) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`stream stayed at ${this.lastEventId}, wanted ${cursor}`);
      await this.#changed(remaining);
    }
  }

  /** Closes the connection, as a browser closing the tab would. */
  close(): void {
    this.#abort.abort();
  }
}

/**
 * Sends raw bytes and collects everything the server answers until it closes the connection
 * (or `timeoutMs` passes: then whatever arrived, plus a flag).
 */
export function rawRequest(port: number, bytes: string | Buffer, timeoutMs = 5000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed: false });
    }, timeoutMs);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', (error) => {
      clearTimeout(timer);
      if (chunks.length > 0) resolve({ text: Buffer.concat(chunks).toString('latin1'), closed: true });
      else reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed: true });
    });
  });
}

/**
 * A raw connection to GET `path` (HTTP/1.0, so the body is the event stream itself, not
 * chunked) with the session cookie, resolved once the answer's first bytes arrived. The test
 * then decides how it reads: `socket.pause()` for a client that never does.
 */
export async function openRawStream(port: number, cookie: string, path: string): Promise<{ socket: Socket; received: Buffer[] }> {
  const socket = connect({ port, host: '127.0.0.1' });
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  socket.write(`GET ${path} HTTP/1.0\r\nHost: x\r\nCookie: ${cookie}\r\nAccept: text/event-stream\r\n\r\n`);
  await new Promise((resolve) => socket.once('data', resolve));
  return { socket, received };
}

/** The events in the body of a raw HTTP/1.0 answer, parsed as EventSource would. */
export async function eventsIn(raw: Buffer[]): Promise<SseEvent[]> {
  const text = Buffer.concat(raw).toString('utf8');
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  const reader = new SseReader(new Response(body), new AbortController());
  await reader.ended;
  return reader.events;
}

/** Parses a raw HTTP answer into a Response, so it can be checked like a fetched one. */
export function responseOf(raw: string): Response {
  const end = raw.indexOf('\r\n\r\n');
  const [statusLine, ...lines] = raw.slice(0, end).split('\r\n');
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  const status = statusOf(statusLine!);
  return new Response(status === 204 || status === 304 ? null : raw.slice(end + 4), { status, headers });
}

/** The status code of a raw HTTP response. */
export function statusOf(raw: string): number {
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(raw);
  assert.ok(match, `not an HTTP response: ${JSON.stringify(raw.slice(0, 200))}`);
  return Number(match[1]);
}

/** Connected clients of a transport as /metrics reports them. */
export async function connectedClients(server: RunningServer, transport: 'sse' | 'longpoll' | 'tcp'): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).text();
  const match = new RegExp(`^parley_connected_clients\\{transport="${transport}"\\} (\\d+)$`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}
