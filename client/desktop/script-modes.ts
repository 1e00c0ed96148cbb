// The modes for scripts and load tests: no screen, JSON lines on stdout, a reason on stderr,
// and an exit status a shell can test (0 done, 1 the server or network said no).
//
//   --send TEXT   log in, send once, print the stored message, exit
//   --history N   print the newest N messages, oldest first, exit
//   --tail        print every change as it happens, reconnecting when needed, until killed
//                 (with --history N: the newest N first, then the changes after them)
import { randomUUID } from 'node:crypto';
import type { Writable } from 'node:stream';
import { MAX_PAGE_SIZE } from '../../protocol/limits.js';
import type { ChatMessage } from '../../protocol/message.js';
import { checkUsername } from '../../protocol/username.js';
import { Connection, type ConnectionOptions } from './connection.js';
import { ParleyError } from './errors.js';
import { Session } from './session.js';

export interface ScriptIo {
  stdout: Writable;
  stderr: Writable;
}

/** Exit status of a mode; it reports its own errors on stderr. */
export type ExitCode = 0 | 1;

export async function sendOnce(target: ConnectionOptions, username: string, text: string, io: ScriptIo): Promise<ExitCode> {
  let connection: Connection | undefined;
  try {
    connection = await openAs(target, username);
    const { message } = await connection.request('send', { text, clientId: randomUUID() });
    io.stdout.write(`${JSON.stringify(message)}\n`);
    return 0;
  } catch (error) {
    return fail(io, error);
  } finally {
    connection?.close();
  }
}

export async function printHistory(
  target: ConnectionOptions,
  username: string,
  count: number,
  io: ScriptIo,
): Promise<ExitCode> {
  let connection: Connection | undefined;
  try {
    connection = await openAs(target, username);
    const messages = await fetchNewest(connection, count);
    for (const message of messages) io.stdout.write(`${JSON.stringify(message)}\n`);
    return 0;
  } catch (error) {
    return fail(io, error);
  } finally {
    connection?.close();
  }
}

/**
 * Follows the chat until `signal` aborts. Output lines have the shape of the protocol's
 * pushes: {"event":"message","cursor":N,"message":{...}} and {"event":"delete","cursor":N,"id":M}.
 * Fails (1) only if the first connection fails; later drops are retried and noted on stderr.
 */
export function tail(
  target: ConnectionOptions,
  username: string,
  backlog: number,
  io: ScriptIo,
  signal: AbortSignal,
): Promise<ExitCode> {
  const session = new Session({ ...target, username, backlog });
  const print = (line: object) => io.stdout.write(`${JSON.stringify(line)}\n`);
  return new Promise((resolve) => {
    const finish = (code: ExitCode) => {
      session.close();
      resolve(code);
    };
    // The newest cursor printed: a page after a reconnect prints only what is past it, so a
    // reader piping this into something else never gets a line twice.
    let printed = 0;
    session.on('reset', (messages, reason) => {
      if (reason === 'restarted') {
        // Ids start again from 1 in the new history: everything in it is news.
        printed = 0;
        io.stderr.write("parley-desktop: the server's history started over; following the new one\n");
      } else if (reason === 'gap') {
        io.stderr.write('parley-desktop: some changes from while the connection was down are no longer kept\n');
      }
      for (const message of messages) {
        if (message.id <= printed) continue;
        print({ event: 'message', cursor: message.id, message });
        printed = message.id;
      }
    });
    session.on('message', (message, cursor) => {
      print({ event: 'message', cursor, message });
      printed = cursor;
    });
    session.on('delete', (id, cursor) => {
      print({ event: 'delete', cursor, id });
      printed = cursor;
    });
    session.on('problem', (error) => io.stderr.write(`parley-desktop: ${error.message}\n`));
    // Once logged in the server is known to be there: a drop after that, even before the first
    // connection finished subscribing (a restart right after the history page), is retried.
    let hasLoggedIn = false;
    session.on('identity', (name) => {
      // The name was refused (the problem says why): nothing to follow without a login.
      if (name === undefined) finish(1);
      else hasLoggedIn = true;
    });
    session.on('state', (state) => {
      if (state.kind !== 'offline') return;
      if (!session.hasBeenOnline && !hasLoggedIn) return finish(fail(io, state.error));
      const seconds = Math.ceil((state.retryAt - Date.now()) / 1000);
      const why = state.isRestarting ? 'the server is restarting' : state.error.message;
      io.stderr.write(`parley-desktop: ${why}; reconnecting in ${seconds}s\n`);
    });
    signal.addEventListener('abort', () => finish(0), { once: true });
    session.start();
  });
}

async function openAs(target: ConnectionOptions, username: string): Promise<Connection> {
  const check = checkUsername(username);
  if (!check.ok) throw new ParleyError('INVALID_USERNAME', check.message);
  const connection = await Connection.open(target);
  try {
    await connection.request('login', { username: check.username });
  } catch (error) {
    connection.close();
    throw error;
  }
  return connection;
}

/** The newest `count` messages, oldest first, paging back when count exceeds one page. */
async function fetchNewest(connection: Connection, count: number): Promise<ChatMessage[]> {
  const pages: ChatMessage[][] = [];
  let remaining = count;
  let before: number | undefined;
  while (remaining > 0) {
    const limit = Math.min(remaining, MAX_PAGE_SIZE);
    const page = await connection.request('history', before === undefined ? { limit } : { before, limit });
    if (page.messages.length === 0) break;
    pages.unshift(page.messages);
    remaining -= page.messages.length;
    before = page.messages[0]!.id;
  }
  return pages.flat().slice(-count);
}

function fail(io: ScriptIo, error: unknown): ExitCode {
  const message = error instanceof ParleyError || error instanceof Error ? error.message : String(error);
  io.stderr.write(`parley-desktop: ${message}\n`);
  return 1;
}
