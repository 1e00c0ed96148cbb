// Other participants for the browser tests, outside any browser: an HTTP user (fetch with the
// session cookie, like curl) and a TCP user (newline-delimited JSON, like the desktop client).
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import type { ChangeSet, ChatMessage } from '../../../protocol/message.js';

export class HttpUser {
  readonly #baseUrl: string;
  readonly #cookie: string;

  private constructor(baseUrl: string, cookie: string) {
    this.#baseUrl = baseUrl;
    this.#cookie = cookie;
  }

  static async login(baseUrl: string, username: string): Promise<HttpUser> {
    const response = await fetch(`${baseUrl}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: baseUrl },
      body: JSON.stringify({ username }),
    });
    if (response.status !== 200) throw new Error(`login as ${username}: ${response.status} ${await response.text()}`);
    const cookie = response.headers.getSetCookie()[0]?.split(';')[0];
    if (!cookie) throw new Error('login answered without a session cookie');
    return new HttpUser(baseUrl, cookie);
  }

  async send(text: string): Promise<ChatMessage> {
    const response = await this.#call('POST', '/api/messages', { text });
    if (response.status !== 201) throw new Error(`send: ${response.status} ${await response.text()}`);
    return (await response.json()) as ChatMessage;
  }

  async delete(id: number): Promise<void> {
    const response = await this.#call('DELETE', `/api/messages/${id}`);
    if (response.status !== 204) throw new Error(`delete ${id}: ${response.status} ${await response.text()}`);
  }

  async messages(query = ''): Promise<ChangeSet> {
    const response = await this.#call('GET', `/api/messages${query}`);
    if (response.status !== 200) throw new Error(`messages: ${response.status} ${await response.text()}`);
    return (await response.json()) as ChangeSet;
  }

  #call(method: string, path: string, body?: unknown): Promise<Response> {
    return fetch(`${this.#baseUrl}${path}`, {
      method,
      headers: {
        cookie: this.#cookie,
        origin: this.#baseUrl,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? null : JSON.stringify(body),
    });
  }
}

/** The answer to a login attempt, as a test wants to see it. */
export async function tryLogin(baseUrl: string, username: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${baseUrl}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: baseUrl },
    body: JSON.stringify({ username }),
  });
  return { status: response.status, body: await response.json() };
}

type Frame = { id?: unknown; ok?: boolean; [field: string]: unknown };

export class TcpUser {
  readonly #socket: Socket;
  readonly #waiting = new Map<number, (frame: Frame) => void>();
  #nextId = 1;

  private constructor(socket: Socket) {
    this.#socket = socket;
    createInterface({ input: socket }).on('line', (line) => {
      const frame = JSON.parse(line) as Frame;
      if (typeof frame.id === 'number') this.#waiting.get(frame.id)?.(frame);
    });
  }

  static async login(port: number, username: string): Promise<TcpUser> {
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const user = new TcpUser(socket);
    const reply = await user.request({ op: 'login', username });
    if (!reply.ok) throw new Error(`TCP login: ${JSON.stringify(reply)}`);
    return user;
  }

  async send(text: string): Promise<ChatMessage> {
    const reply = await this.request({ op: 'send', text });
    if (!reply.ok) throw new Error(`TCP send: ${JSON.stringify(reply)}`);
    return reply.message as ChatMessage;
  }

  request(body: Record<string, unknown>): Promise<Frame> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#waiting.set(id, (frame) => {
        this.#waiting.delete(id);
        resolve(frame);
      });
      this.#socket.write(`${JSON.stringify({ id, ...body })}\n`);
    });
  }

  close(): void {
    this.#socket.end();
  }
}
