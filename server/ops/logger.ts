// chat.log: one JSON object per line (start, stop, connections, logins, errors, HTTP access),
// so `jq` and log shippers read it. Message texts are never written (privacy).
//
// The file is opened in append mode and reopened on SIGHUP (server/main.ts), so
// scripts/clean.sh can rotate or delete it under a running server without losing later lines.
//
// Two kinds of line, two ways of writing:
// - events (info/warn/error) are written at once, synchronously: a line about a failure must
//   survive the crash that may follow it, and events are rare;
// - access lines (one per HTTP request, thousands a second under load) are collected and written
//   with one write() per event-loop turn. A synchronous write per request cost more than
//   answering the request (issue 6's polling profile); batching costs at most the lines of the
//   last turn in a crash, and they are written before any event line, so the order holds.
import { closeSync, fstatSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export type LogLevel = 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /**
   * A high-volume line, already serialised as one JSON object without the newline, written
   * with others at the end of this event-loop turn. False when nothing is written (`--log off`),
   * so a caller can skip building the line.
   */
  readonly isWriting: boolean;
  access(line: string): void;
  /** Closes and reopens the file (after rotation or deletion). */
  reopen(): void;
  close(): void;
}

/** How often the file's identity is checked, to notice a rotation nobody signalled. */
const ROTATION_CHECK_MS = 1000;

/** A logger writing to `path`, to stderr for '-', or to nowhere when `path` is null. */
export function openLogger(path: string | null): Logger {
  let fd: number | null = null;
  let inode = 0;
  let pending: string[] = [];
  let isFlushScheduled = false;

  const open = () => {
    if (path === null) return;
    if (path === '-') {
      fd = 2;
      return;
    }
    mkdirSync(dirname(path), { recursive: true });
    fd = openSync(path, 'a', 0o640);
    inode = fstatSync(fd).ino;
  };

  // A deleted or renamed file is noticed on the next write even without SIGHUP, so a cron job
  // that forgets the signal loses nothing but the lines of that one check interval. A reopen
  // that failed (EMFILE, EACCES, a folder in the file's place) is retried by the same check, so
  // logging resumes by itself once the cause is gone.
  let lastCheck = 0;
  let isClosed = false;
  const ensureCurrent = () => {
    if (path === null || path === '-' || isClosed) return;
    const now = Date.now();
    if (now - lastCheck < ROTATION_CHECK_MS) return;
    lastCheck = now;
    if (fd === null) {
      reopen();
      return;
    }
    let current = -1;
    try {
      current = statSync(path).ino;
    } catch {
      // gone: reopen below
    }
    if (current !== inode) reopen();
  };

  const writeOut = (text: string) => {
    ensureCurrent();
    if (fd === null) return;
    try {
      writeSync(fd, text);
    } catch {
      // A full or vanished disk must not take the chat down with it; this line is lost, the next one tries again.
    }
  };

  const flush = () => {
    isFlushScheduled = false;
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    writeOut(text);
  };

  const write = (level: LogLevel, event: string, fields: LogFields = {}) => {
    const line = `${JSON.stringify({ time: new Date().toISOString(), level, event, ...fields }, replaceErrors)}\n`;
    flush();
    writeOut(line);
  };

  const reopen = () => {
    if (fd !== null && fd !== 2) closeSync(fd);
    fd = null;
    try {
      open();
    } catch {
      fd = null;
    }
  };

  open();
  // process.exit() skips pending immediates; the access lines of the last turn still go out.
  process.on('exit', flush);
  return {
    info: (event, fields) => write('info', event, fields),
    warn: (event, fields) => write('warn', event, fields),
    error: (event, fields) => write('error', event, fields),
    isWriting: path !== null,
    access(line) {
      if (path === null) return;
      pending.push(line, '\n');
      if (!isFlushScheduled) {
        isFlushScheduled = true;
        setImmediate(flush);
      }
    },
    reopen() {
      if (isClosed) return;
      flush();
      reopen();
    },
    close() {
      flush();
      isClosed = true;
      process.off('exit', flush);
      if (fd !== null && fd !== 2) closeSync(fd);
      fd = null;
    },
  };
}

function replaceErrors(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return value;
}
