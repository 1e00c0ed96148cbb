#!/usr/bin/env node
// parley-desktop: the terminal chat client. Reads the flags and runs one mode: the full
// screen (screen/), or a script mode that prints JSON lines (script-modes.ts).
import { USAGE, parseOptions } from './args.js';
import { printHistory, sendOnce, tail, type ScriptIo } from './script-modes.js';

const EXIT_USAGE = 2;

const parsed = parseOptions(process.argv.slice(2));
if (!parsed.ok) {
  process.stderr.write(`parley-desktop: ${parsed.message}\nTry --help for the options.\n`);
  process.exit(EXIT_USAGE);
}
const { host, port, username, mode } = parsed.options;
const target = { host, port };
const io: ScriptIo = { stdout: process.stdout, stderr: process.stderr };
// `parley-desktop --tail | head -3`: the reader left; that is a normal way to stop.
process.stdout.on('error', (error: NodeJS.ErrnoException) => process.exit(error.code === 'EPIPE' ? 0 : 1));

switch (mode.kind) {
  case 'help':
    process.stdout.write(`${USAGE}\n`);
    break;
  case 'send':
    process.exitCode = await sendOnce(target, mode.username, mode.text, io);
    break;
  case 'history':
    process.exitCode = await printHistory(target, mode.username, mode.count, io);
    break;
  case 'tail': {
    const stop = new AbortController();
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => stop.abort());
    process.exitCode = await tail(target, mode.username, mode.backlog, io, stop.signal);
    break;
  }
  case 'screen': {
    if (!process.stdin.isTTY || !process.stdout.isTTY) {
      process.stderr.write('parley-desktop: the chat screen needs a terminal; in scripts use --send, --tail or --history\n');
      process.exit(EXIT_USAGE);
    }
    // Loaded only here, so the script modes start fast and never touch terminal-kit.
    const { runScreen } = await import('./screen/run-screen.js');
    process.exitCode = await runScreen({ ...target, username });
    break;
  }
}
