// Command-line flags -> one checked Options value, or a message saying what to fix. Pure, so
// the checks are tested without spawning anything.
import { parseArgs } from 'node:util';
import { MAX_PAGE_SIZE } from '../../protocol/limits.js';
import { checkUsername } from '../../protocol/username.js';
import { DEFAULT_HOST, DEFAULT_PORT } from './connection.js';

export type Mode =
  | { kind: 'help' }
  | { kind: 'screen' }
  | { kind: 'send'; text: string; username: string }
  | { kind: 'history'; count: number; username: string }
  | { kind: 'tail'; backlog: number; username: string };

export interface Options {
  host: string;
  port: number;
  username: string | undefined;
  mode: Mode;
}

export type ParsedArgs = { ok: true; options: Options } | { ok: false; message: string };

export const USAGE = `Usage: parley-desktop [options]

A terminal chat client for a Parley server.

Options:
  --host HOST      server to connect to (default: ${DEFAULT_HOST})
  --port PORT      the server's TCP port (default: ${DEFAULT_PORT})
  --user NAME      log in as NAME instead of being asked
  --send TEXT      send TEXT as --user, print the stored message as JSON, and exit
  --history N      print the newest N messages as JSON lines (oldest first) and exit
  --tail           print every new message and deletion as a JSON line, until killed;
                   with --history N, start with the newest N messages
                   (the server lets only logged-in users read: these need --user too)
  -h, --help       show this help

Keys (full-screen mode): Enter send, Alt-Enter new line, Up/Down recall, Tab select
messages, Delete delete the selected message (after y/n), Esc back, PageUp/PageDown or the
mouse wheel scroll, Ctrl-C quit. The mouse is captured: Shift+drag selects text.
Exit status: 0 done, 1 the server or the network failed, 2 wrong options.`;

export function parseOptions(argv: string[]): ParsedArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        user: { type: 'string' },
        send: { type: 'string' },
        history: { type: 'string' },
        tail: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
  const host = values.host ?? DEFAULT_HOST;
  if (host.trim() === '') return { ok: false, message: '--host is empty; give a host name or address' };

  let port = DEFAULT_PORT;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port < 1 || port > 65535) {
      return { ok: false, message: `--port is ${JSON.stringify(values.port)}; use a number from 1 to 65535` };
    }
  }

  let username: string | undefined;
  if (values.user !== undefined) {
    const check = checkUsername(values.user);
    if (!check.ok) return { ok: false, message: `--user: ${check.message}` };
    username = check.username;
  }

  let count: number | undefined;
  if (values.history !== undefined) {
    count = Number(values.history);
    if (!/^\d+$/.test(values.history) || count < 1) {
      return { ok: false, message: `--history is ${JSON.stringify(values.history)}; use a whole number of messages, 1 or more` };
    }
  }

  const base = { host, port, username };
  if (values.help) return { ok: true, options: { ...base, mode: { kind: 'help' } } };
  if (values.send !== undefined) {
    if (values.tail || count !== undefined) return { ok: false, message: '--send cannot be combined with --tail or --history' };
    if (username === undefined) return { ok: false, message: '--send needs --user NAME, the name to send as' };
    if (values.send.trim() === '') return { ok: false, message: '--send needs some text to send' };
    return { ok: true, options: { ...base, mode: { kind: 'send', text: values.send, username } } };
  }
  if ((values.tail || count !== undefined) && username === undefined) {
    return { ok: false, message: `--${values.tail ? 'tail' : 'history'} needs --user NAME: the server shows messages to logged-in users only` };
  }
  if (values.tail) {
    if (count !== undefined && count > MAX_PAGE_SIZE) {
      return { ok: false, message: `--history with --tail is at most ${MAX_PAGE_SIZE}; got ${count}` };
    }
    return { ok: true, options: { ...base, mode: { kind: 'tail', backlog: count ?? 0, username: username! } } };
  }
  if (count !== undefined) return { ok: true, options: { ...base, mode: { kind: 'history', count, username: username! } } };
  return { ok: true, options: { ...base, mode: { kind: 'screen' } } };
}
