// chat.log: one JSON object per line (start, stop, connections, logins, errors, HTTP access),
// so `jq` and log shippers read it. Message texts are never written (privacy).
//
// The file is opened in append mode and reopened on SIGHUP (server/main.ts), so
// scripts/clean.sh can rotate or delete it under a running server without losing later lines.
// Writes are synchronous and unbuffered: a log line must survive a crash that follows it, and
// the log is low-volume next to the journal.
import { closeSync, fstatSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export type LogLevel = 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /** Closes and reopens the file (after rotation or deletion). */
  reopen(): void;
  close(): void;
}

/** A logger writing to `path`, or to nowhere when `path` is null (`--log -` would be stderr). */
export function openLogger(path: string | null, mirror?: (line: string) => void): Logger {
  let fd: number | null = null;
  let inode = 0;

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
  // that forgets the signal loses nothing but the lines of that one check interval.
  let lastCheck = 0;
  const ensureCurrent = () => {
    if (path === null || path === '-' || fd === null) return;
    const now = Date.now();
    if (now - lastCheck < 1000) return;
    lastCheck = now;
    let current = -1;
    try {
      current = statSync(path).ino;
    } catch {
      // gone: reopen below
    }
    if (current !== inode) reopen();
  };

  const write = (level: LogLevel, event: string, fields: LogFields = {}) => {
    const line = `${JSON.stringify({ time: new Date().toISOString(), level, event, ...fields }, replaceErrors)}\n`;
    mirror?.(line);
    ensureCurrent();
    if (fd === null) return;
    try {
      writeSync(fd, line);
    } catch {
      // A full or vanished disk must not take the chat down with it; the next reopen retries.
    }
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
  return {
    info: (event, fields) => write('info', event, fields),
    warn: (event, fields) => write('warn', event, fields),
    error: (event, fields) => write('error', event, fields),
    reopen,
    close() {
      if (fd !== null && fd !== 2) closeSync(fd);
      fd = null;
    },
  };
}

function replaceErrors(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return value;
}
