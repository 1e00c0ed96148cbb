// Small tools the operations tests share: a TCP line client speaking the chat protocol, an HTTP
// login, a process runner for servers that are expected to refuse to start, and polling with a
// deadline for things only a file shows (a log line has no event to await).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { SERVER_MAIN, ROOT } from '../helpers/server.js';

export type Frame = Record<string, unknown>;

/** Polls `check` every 25 ms until it returns a value other than undefined/false, or fails. */
export async function pollUntil<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(25);
  }
}

/** Fails with `what` unless `promise` settles within `ms`. */
export async function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A connection to the TCP chat port: newline-delimited JSON both ways. */
export class LineClient {
  readonly frames: Frame[] = [];
  /** Resolves when the server (or we) closed the connection. */
  readonly closed: Promise<void>;
  #socket: Socket;
  #buffered = '';
  #nextId = 1;
  #listeners = new Set<() => void>();
  #isClosed = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.#buffered += chunk;
      let newline: number;
      while ((newline = this.#buffered.indexOf('\n')) !== -1) {
        const line = this.#buffered.slice(0, newline);
        this.#buffered = this.#buffered.slice(newline + 1);
        if (line.trim() !== '') this.frames.push(JSON.parse(line) as Frame);
      }
      this.#notify();
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.#isClosed = true;
        this.#notify();
        resolve();
      }),
    );
  }

  static connect(port: number): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new LineClient(socket));
      });
    });
  }

  /** The first frame received (now or later) that matches. */
  waitFor(what: string, match: (frame: Frame) => boolean, timeoutMs = 5000): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.frames.find(match);
        if (found) return done(() => resolve(found));
        if (this.#isClosed) return done(() => reject(new Error(`connection closed before ${what}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`timed out waiting for ${what}`))), timeoutMs);
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.#listeners.delete(check);
        settle();
      };
      this.#listeners.add(check);
      check();
    });
  }

  /** Sends a request with a fresh id; does not wait. Returns the id. */
  send(request: Frame): number {
    const id = this.#nextId++;
    this.#socket.write(`${JSON.stringify({ id, ...request })}\n`);
    return id;
  }

  reply(id: number, timeoutMs = 5000): Promise<Frame> {
    return this.waitFor(`the reply to request ${id}`, (frame) => frame.id === id, timeoutMs);
  }

  async request(request: Frame): Promise<Frame> {
    return this.reply(this.send(request));
  }

  async login(username: string): Promise<void> {
    await this.waitFor('the hello frame', (frame) => frame.event === 'hello');
    const reply = await this.request({ op: 'login', username });
    if (reply.ok !== true) throw new Error(`login failed: ${JSON.stringify(reply)}`);
  }

  close(): Promise<void> {
    this.#socket.end();
    return this.closed;
  }

  #notify() {
    for (const listener of [...this.#listeners]) listener();
  }
}

/** Logs in over HTTP and returns the Cookie header value for later requests. */
export async function httpLogin(baseUrl: string, username: string): Promise<string> {
  const response = await fetch(`${baseUrl}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username }),
  });
  if (response.status !== 200) throw new Error(`login answered ${response.status}: ${await response.text()}`);
  return response.headers
    .getSetCookie()
    .map((cookie) => cookie.split(';')[0])
    .join('; ');
}

/** The JSON lines of a log file ([] when it does not exist). Throws on a line that is not JSON;
 *  a last line still without its newline is being written and is left out. */
export function readLogLines(file: string): Frame[] {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.pop();
  return lines
    .filter((line) => line !== '')
    .map((line, index) => {
      try {
        return JSON.parse(line) as Frame;
      } catch {
        throw new Error(`${file} line ${index + 1} is not JSON: ${line}`);
      }
    });
}

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to its end (with a time limit) and collects what it printed. */
export function run(
  command: string,
  args: string[],
  timeoutMs = 15_000,
  env: NodeJS.ProcessEnv = process.env,
  cwd = ROOT,
): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not finish within ${timeoutMs} ms:\n${stdout}${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs the server with exactly these flags, for starts that are meant to fail. */
export function runServer(args: string[], timeoutMs = 15_000): Promise<Finished> {
  return run(process.execPath, [SERVER_MAIN, ...args], timeoutMs, { ...process.env, PARLEY_READY: '1' });
}
