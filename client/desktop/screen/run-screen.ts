// Runs the full-screen client on the process's terminal and makes sure the terminal is given
// back on every way out: Ctrl-C/Ctrl-D, SIGTERM/SIGHUP, or a bug (then one line on stderr,
// not a stack dump over a screen in raw mode). Messages still waiting to be sent are printed
// on stderr once the terminal is back, so quitting offline never loses what was typed.
import termkit from 'terminal-kit';
import type { ConnectionOptions } from '../connection.js';
import { Session } from '../session.js';
import { ChatScreen } from './chat-screen.js';

export interface ScreenOptions extends ConnectionOptions {
  username: string | undefined;
}

export async function runScreen(options: ScreenOptions): Promise<number> {
  const session = new Session(options);
  const screen = new ChatScreen({ terminal: termkit.terminal, output: process.stdout, session, askName: options.username === undefined });
  let isRestored = false;
  const restore = () => {
    if (isRestored) return;
    isRestored = true;
    const unsent = session.queued;
    session.close();
    screen.restore();
    if (unsent.length > 0) process.stderr.write(describeUnsent(unsent.map((item) => item.text)));
  };
  const crash = (error: unknown) => {
    restore();
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`parley-desktop: stopped by an internal error: ${message}\n`);
    if (process.env.PARLEY_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    process.exit(70);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  for (const signal of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) {
    process.once(signal, () => {
      restore();
      process.exit(0);
    });
  }

  session.start();
  await screen.run();
  restore();
  // terminal-kit keeps stdin referenced after it stops grabbing input; leave explicitly once
  // the restoring escape sequences are flushed.
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit(0);
}

function describeUnsent(texts: string[]): string {
  const what = texts.length === 1 ? '1 message was' : `${texts.length} messages were`;
  const list = texts.map((text) => `  ${text.replace(/\n/g, '\n  ')}\n`).join('');
  return `parley-desktop: ${what} not sent:\n${list}`;
}
