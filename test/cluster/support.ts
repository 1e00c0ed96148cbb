// Shared by the cluster tests: in-process nodes (ClusterChat against a real redis-server), a
// web client (cookie + fetch + a Server-Sent Events reader) and small waiting helpers that
// resolve on events, so no test sleeps for a fixed time.
import { EventEmitter } from 'node:events';
import type { TestContext } from 'node:test';
import { createClient } from 'redis';
import type { LiveChange } from '../../server/chat/chat.js';
import { ClusterChat, type ClusterChatOptions } from '../../server/cluster/cluster-chat.js';

export interface Node {
  chat: ClusterChat;
  /** Names of the events and errors the node reported, in order (e.g. 'redis-unreachable'). */
  events: string[];
  /** The same events with their fields. */
  log: Array<{ event: string; fields: Record<string, unknown> }>;
  /** Emits 'event' with each log entry as it is reported (untilEvent listens here). */
  reports: EventEmitter;
}

type LogEntry = Node['log'][number];

/** A ClusterChat on `redis` (or a relay in front of it), closed when the test ends. */
export async function openNode(t: TestContext, redis: { url: string }, options: Partial<ClusterChatOptions> = {}): Promise<Node> {
  const events: string[] = [];
  const log: Node['log'] = [];
  const reports = new EventEmitter();
  const record = (entry: LogEntry) => {
    events.push(entry.event);
    log.push(entry);
    reports.emit('event', entry);
  };
  const chat = await ClusterChat.open({
    url: redis.url,
    capacity: 1024,
    arenaBytes: 1024 * 1024,
    rateLimit: 0,
    commandTimeoutMs: 2000,
    onError: (event, error) => record({ event, fields: { error } }),
    onEvent: (_level, event, fields) => record({ event, fields }),
    ...options,
  });
  t.after(() => chat.close());
  return { chat, events, log, reports };
}

/**
 * Resolves with the first event named `event` (and matching `match`) the node reported from
 * log position `since` on (0: any reported so far counts too), as soon as it is reported.
 */
export function untilEvent(
  node: Node,
  event: string,
  match: (fields: Record<string, unknown>) => boolean = () => true,
  { since = 0, timeoutMs = 15_000 }: { since?: number; timeoutMs?: number } = {},
): Promise<LogEntry> {
  const isWanted = (entry: LogEntry) => entry.event === event && match(entry.fields);
  const earlier = node.log.slice(since).find(isWanted);
  if (earlier !== undefined) return Promise.resolve(earlier);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      node.reports.off('event', listener);
      reject(new Error(`node reported no ${event} within ${timeoutMs} ms; it reported ${JSON.stringify(node.events.slice(since))}`));
    }, timeoutMs);
    const listener = (entry: LogEntry) => {
      if (!isWanted(entry)) return;
      clearTimeout(timer);
      node.reports.off('event', listener);
      resolve(entry);
    };
    node.reports.on('event', listener);
  });
}

/** The test's own Redis client, for looking at or changing what the nodes keep there. */
export async function adminClient(t: TestContext, redis: { url: string }) {
  const client = createClient({ url: redis.url });
  client.on('error', () => {}); // Redis may be stopped before this client is
  await client.connect();
  t.after(() => {
    if (client.isOpen) client.destroy();
  });
  return client;
}

/** Resolves once `chat` has published `cursor` (it may already have). */
export function untilCursor(chat: ClusterChat, cursor: number, timeoutMs = 10_000): Promise<void> {
  if (chat.cursor >= cursor) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`node stayed at cursor ${chat.cursor}, waiting for ${cursor}`));
    }, timeoutMs);
    const unsubscribe = chat.subscribe((change: LiveChange) => {
      if (change.cursor < cursor) return;
      clearTimeout(timer);
      unsubscribe();
      resolve();
    });
  });
}

/** A browser-like HTTP client: session cookie, same-origin header, raw statuses. */
export class WebClient {
  readonly baseUrl: string;
  cookie: string;

  constructor(baseUrl: string, cookie = '') {
    this.baseUrl = baseUrl;
    this.cookie = cookie;
  }

  static async login(baseUrl: string, username: string): Promise<WebClient> {
    const client = new WebClient(baseUrl);
    const response = await client.call('POST', '/api/login', { username });
    if (response.status !== 200) throw new Error(`login as ${username}: ${response.status} ${await response.text()}`);
    client.cookie = response.headers.getSetCookie()[0]!.split(';')[0]!;
    return client;
  }

  /** The same session on another node (what a load balancer does to a browser). */
  on(baseUrl: string): WebClient {
    return new WebClient(baseUrl, this.cookie);
  }

  call(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    return fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        origin: this.baseUrl,
        ...(this.cookie ? { cookie: this.cookie } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? null : JSON.stringify(body),
      signal: signal ?? null,
    });
  }

  async json(method: string, path: string, body?: unknown): Promise<{ status: number; body: any; headers: Headers }> {
    const response = await this.call(method, path, body);
    const text = await response.text();
    return { status: response.status, body: text === '' ? null : JSON.parse(text), headers: response.headers };
  }

  /** Opens GET /api/events (from `last`, or Last-Event-ID as a reconnecting EventSource sends it); closed when the test ends. */
  async events(t: TestContext, last?: number, lastEventId?: string): Promise<EventStream> {
    const controller = new AbortController();
    const response = await fetch(`${this.baseUrl}/api/events${last === undefined ? '' : `?last=${last}`}`, {
      headers: { origin: this.baseUrl, cookie: this.cookie, ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }) },
      signal: controller.signal,
    });
    if (response.status !== 200) throw new Error(`events: ${response.status} ${await response.text()}`);
    const stream = new EventStream(response.body!, controller);
    t.after(() => stream.close());
    return stream;
  }
}

export interface SseEvent {
  event: string;
  id: string | undefined;
  data: any;
}

/** Reads a text/event-stream body into events; next() awaits the first unread one that matches. */
export class EventStream {
  readonly events: SseEvent[] = [];
  readonly #controller: AbortController;
  #read = 0;
  #waiters: Array<() => void> = [];

  constructor(body: ReadableStream<Uint8Array>, controller: AbortController) {
    this.#controller = controller;
    void this.#pump(body);
  }

  async next(match: (event: SseEvent) => boolean, timeoutMs = 10_000): Promise<SseEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (; this.#read < this.events.length; this.#read++) {
        const event = this.events[this.#read]!;
        if (match(event)) {
          this.#read++;
          return event;
        }
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(this.events.slice(-5))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.#controller.abort();
  }

  async #pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffered = '';
    const reader = body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        buffered += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          this.#parse(block);
        }
      }
    } catch {
      // aborted by close()
    }
  }

  #parse(block: string): void {
    let event = 'message';
    let id: string | undefined;
    let data: string | undefined;
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('id: ')) id = line.slice(4);
      else if (line.startsWith('data: ')) data = line.slice(6);
    }
    if (data === undefined) return; // comments, retry and cursor marks
    this.events.push({ event, id, data: JSON.parse(data) });
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
