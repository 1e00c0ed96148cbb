// The bench's own HTTP calls to Parley's API (login, send, read changes), outside the timed
// load. node:http with a keep-alive agent rather than fetch, so the requests carry exactly the
// headers written here (no Origin a server might judge, no hidden connection policy).
// Every answer is checked: a fast wrong reply is no result.
import { Agent, request } from 'node:http';
import type { ChangeSet, ChatMessage } from '../../protocol/message.js';
import { HOST } from './paths.js';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export class ApiClient {
  readonly port: number;
  readonly #agent: Agent;

  constructor(port: number, maxSockets = 16) {
    this.port = port;
    this.#agent = new Agent({ keepAlive: true, maxSockets });
  }

  send(method: string, path: string, options: { cookie?: string; json?: unknown } = {}): Promise<HttpAnswer> {
    const body = options.json === undefined ? undefined : JSON.stringify(options.json);
    const headers: Record<string, string> = {};
    if (options.cookie) headers.cookie = options.cookie;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    return new Promise((resolve, reject) => {
      const req = request({ host: HOST, port: this.port, method, path, headers, agent: this.#agent, timeout: 30_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} got no answer within 30 s`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Logs in and returns the `name=value` pair to send as Cookie. */
  async login(username: string): Promise<string> {
    const answer = await this.send('POST', '/api/login', { json: { username } });
    expectStatus(answer, 200, 'POST /api/login');
    const setCookie = answer.headers['set-cookie'];
    const first = Array.isArray(setCookie) ? setCookie[0] : setCookie;
    const pair = first?.split(';')[0];
    if (!pair || !pair.includes('=')) throw new Error(`POST /api/login set no cookie: ${JSON.stringify(answer.headers)}`);
    return pair;
  }

  async post(cookie: string, text: string): Promise<ChatMessage> {
    const answer = await this.send('POST', '/api/messages', { cookie, json: { text } });
    expectStatus(answer, 201, 'POST /api/messages');
    const message = parseJson(answer.body);
    if (!isChatMessage(message) || message.text !== text) {
      throw new Error(`POST /api/messages answered ${answer.body.slice(0, 200)} for text ${JSON.stringify(text)}`);
    }
    return message;
  }

  async changes(cookie: string, query: string): Promise<ChangeSet> {
    const answer = await this.send('GET', `/api/messages${query}`, { cookie });
    expectStatus(answer, 200, `GET /api/messages${query}`);
    const changes = parseJson(answer.body);
    if (!isChangeSet(changes)) throw new Error(`GET /api/messages${query} answered ${answer.body.slice(0, 200)}`);
    return changes;
  }

  close(): void {
    this.#agent.destroy();
  }
}

function expectStatus(answer: HttpAnswer, status: number, what: string): void {
  if (answer.status !== status) throw new Error(`${what} answered ${answer.status}, expected ${status}: ${answer.body.slice(0, 200)}`);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function isChatMessage(value: unknown): value is ChatMessage {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  return Number.isSafeInteger(m.id) && typeof m.user === 'string' && typeof m.text === 'string' && typeof m.time === 'string';
}

function isChangeSet(value: unknown): value is ChangeSet {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Record<string, unknown>;
  return Array.isArray(c.messages) && c.messages.every(isChatMessage) && Array.isArray(c.deleted) && Number.isSafeInteger(c.last);
}

/**
 * Fills the store with `count` messages over HTTP, `concurrency` requests at a time, round-robin
 * over the given sessions. Through the API, the same way for every system, so no system gets a
 * store built differently from the others.
 */
export async function seedMessages(client: ApiClient, cookies: string[], count: number, concurrency: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      await client.post(cookies[i % cookies.length]!, `seed message ${i + 1}: the quick brown fox jumps over the lazy dog`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** Logs in `count` users named prefix-1..prefix-N, a few at a time; returns their cookies in order. */
export async function loginMany(client: ApiClient, prefix: string, count: number, concurrency = 16): Promise<string[]> {
  const cookies = new Array<string>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      cookies[i] = await client.login(`${prefix}-${i + 1}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return cookies;
}
