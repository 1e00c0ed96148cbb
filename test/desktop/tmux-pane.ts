// Runs a program in a real terminal: a detached tmux session on a private socket, so tests
// never touch the user's tmux and can run side by side. The test types with send-keys and
// reads the screen as a user sees it with capture-pane.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';

const POLL_MS = 40;
const DEFAULT_WAIT_MS = 10_000;

export interface PaneOptions {
  width?: number;
  height?: number;
}

export class TmuxPane {
  readonly #socket = `parley-test-${randomUUID().slice(0, 8)}`;

  /**
   * `command` is run by the shell. When it ends the pane shows "[exited with N]" and stays:
   * tmux's own remain-on-exit sometimes loses the status (3.3a), a shell does not.
   */
  constructor(command: string, options: PaneOptions = {}) {
    this.#tmux(
      'new-session', '-d', '-s', 'main',
      '-x', String(options.width ?? 100), '-y', String(options.height ?? 30),
      `${command}; echo "[exited with $?]"; exec sleep 86400`,
    );
  }

  /** The screen as text, one line per row, trailing spaces trimmed. */
  screen(): string {
    return this.#tmux('capture-pane', '-p', '-t', 'main');
  }

  /** False while the application hides the cursor (the client does while a message is selected). */
  isCursorVisible(): boolean {
    return this.#tmux('display-message', '-p', '-t', 'main', '#{cursor_flag}').trim() === '1';
  }

  /** Key names as tmux knows them: Enter, Up, DC (Delete), PPage, C-c, ... */
  keys(...keys: string[]): void {
    this.#tmux('send-keys', '-t', 'main', ...keys);
  }

  /** Text typed as is (also raw escape sequences, e.g. a mouse report). */
  type(text: string): void {
    this.#tmux('send-keys', '-t', 'main', '-l', text);
  }

  /** Raw bytes, as the terminal would send them (e.g. an SGR mouse wheel report). */
  bytes(data: string): void {
    const hex = [...Buffer.from(data, 'utf8')].map((byte) => byte.toString(16).padStart(2, '0'));
    this.#tmux('send-keys', '-t', 'main', '-H', ...hex);
  }

  resize(width: number, height: number): void {
    this.#tmux('resize-window', '-t', 'main', '-x', String(width), '-y', String(height));
  }

  /** Polls the screen until `expected` shows (or the predicate holds); throws with the last screen on timeout. */
  async waitFor(expected: string | RegExp | ((screen: string) => boolean), timeoutMs = DEFAULT_WAIT_MS): Promise<string> {
    const matches =
      typeof expected === 'function'
        ? expected
        : typeof expected === 'string'
          ? (screen: string) => screen.includes(expected)
          : (screen: string) => expected.test(screen);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = this.screen();
      if (matches(screen)) return screen;
      if (Date.now() > deadline) {
        throw new Error(`the screen did not show ${String(expected)} within ${timeoutMs} ms; it shows:\n${screen}`);
      }
      await delay(POLL_MS);
    }
  }

  /** The row containing `text`, or undefined. */
  row(text: string): { y: number; line: string } | undefined {
    const lines = this.screen().split('\n');
    const y = lines.findIndex((line) => line.includes(text));
    return y === -1 ? undefined : { y, line: lines[y]! };
  }

  close(): void {
    try {
      this.#tmux('kill-server');
    } catch {
      // Already gone.
    }
  }

  #tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.#socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  }
}
