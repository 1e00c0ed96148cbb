// The full-screen chat: wires a Session to a terminal. Keys, mouse and pastes change state
// here; every change asks for one render on the next tick, which lays the screen out and hands
// it to the painter (many pushes after a reconnect: still one render).
//
//   row 0        header: server, user
//   rows 1..     messages (message-pane.ts): bottom-aligned, scrolled back by PgUp/wheel
//   row h-2-c    status bar: connection, notice, queue, key hints
//   last c rows  composer (1 to 6 rows for a draft with several lines) / name prompt / question
//
// Focus decides what keys mean: 'login' (the name prompt), 'compose' (typing; Up/Down recall
// what you sent), 'select' (Up/Down pick a message, Delete asks to delete it), 'confirm' (y/n
// to a deletion) and 'quit' (y/n to quitting with messages unsent). Tab switches between
// compose and select, Esc cancels, the mouse selects directly. Only keys that cannot be typing
// act on a selection: a click to focus the window selects a message, and the words typed next
// must reach the composer, never delete anything.
import type { Writable } from 'node:stream';
import type { Terminal } from 'terminal-kit';
import type { ChatMessage } from '../../../protocol/message.js';
import { checkText } from '../../../protocol/message-text.js';
import { checkUsername } from '../../../protocol/username.js';
import { toParleyError } from '../errors.js';
import type { ResetReason, Session } from '../session.js';
import { composerLines, draftWidth, headerLine, statusLine, type ComposerMode, type ComposerView, type Notice } from './bars.js';
import { LineEditor } from './line-editor.js';
import { MessagePane } from './message-pane.js';
import { Painter, type Line } from './painter.js';
import { DISABLE_BRACKETED_PASTE, ENABLE_BRACKETED_PASTE, splitPastes } from './paste-input.js';
import { cleanPaste, sanitize, truncate } from './text-width.js';
import { theme } from './theme.js';

const WHEEL_ROWS = 3;
const NOTICE_MS = { error: 8_000, info: 4_000 };
const MIN_WIDTH = 20;
const MIN_HEIGHT = 5;
const MAX_COMPOSER_ROWS = 6;

const HINTS = {
  login: 'Enter log in · Ctrl-C quit',
  compose: 'Tab select · PgUp/PgDn scroll · Ctrl-C quit',
  select: '↑↓ move · Del delete · Esc back',
  confirm: 'y delete · n keep',
  quit: 'y quit · n stay',
} as const;

type Focus = keyof typeof HINTS;

const RESET_NOTICES: Record<ResetReason, string | undefined> = {
  load: undefined,
  gap: 'some messages from while you were away are no longer kept',
  restarted: "the server's history started over; showing what it has now",
};

export interface ChatScreenOptions {
  /** Input, size and modes (mouse, alternate screen). */
  terminal: Terminal;
  /** Where frames are written: the terminal's output stream. */
  output: Writable;
  session: Session;
  /** Start at the name prompt (no --user given). */
  askName: boolean;
}

export class ChatScreen {
  readonly #term: Terminal;
  readonly #output: Writable;
  readonly #session: Session;
  readonly #painter: Painter;
  readonly #pane: MessagePane;
  readonly #composer = new LineEditor();
  readonly #nameEditor = new LineEditor();
  #focus: Focus;
  /** Where a "quit anyway?" question returns to when the answer is no. */
  #focusBeforeQuit: Focus = 'compose';
  #confirmId: number | undefined;
  #notice: (Notice & { until: number }) | undefined;
  #isLoggingIn = false;
  /** First screen row of the composer, for the mouse. */
  #composerTop = 0;
  #isRenderQueued = false;
  #ticker: NodeJS.Timeout | undefined;
  #quit: (() => void) | undefined;
  /** Between run() and restore(): only then may anything be drawn. */
  #isActive = false;

  constructor(options: ChatScreenOptions) {
    this.#term = options.terminal;
    this.#session = options.session;
    this.#output = options.output;
    this.#painter = new Painter(options.output);
    this.#pane = new MessagePane(
      options.session,
      () => this.#requestRender(),
      (text) => this.#tell('error', text),
    );
    this.#focus = options.askName ? 'login' : 'compose';
    splitPastes(this.#term, this.#onPaste);
    this.#listen();
  }

  /** Takes over the terminal until the user quits (Ctrl-C, Ctrl-D); then call restore(). */
  run(): Promise<void> {
    const term = this.#term;
    this.#isActive = true;
    term.fullscreen(true);
    term.grabInput({ mouse: 'button' });
    this.#output.write(ENABLE_BRACKETED_PASTE);
    term.on('key', this.#onKey);
    term.on('mouse', this.#onMouse);
    term.on('resize', this.#onResize);
    // Once a second: the offline countdown, and notices that expire.
    this.#ticker = setInterval(() => {
      if (this.#notice && this.#notice.until <= Date.now()) this.#notice = undefined;
      this.#requestRender();
    }, 1000);
    this.#render();
    return new Promise((resolve) => (this.#quit = resolve));
  }

  /** Gives the terminal back: normal screen, cursor, no mouse reporting or paste brackets, cooked input. */
  restore(): void {
    if (!this.#isActive) return;
    this.#isActive = false;
    clearInterval(this.#ticker);
    const term = this.#term;
    term.off('key', this.#onKey);
    term.off('mouse', this.#onMouse);
    term.off('resize', this.#onResize);
    term.grabInput(false);
    this.#output.write(`${DISABLE_BRACKETED_PASTE}\x1b[0m\x1b[?25h`);
    term.fullscreen(false);
  }

  #listen(): void {
    const session = this.#session;
    session.on('reset', (messages, reason) => {
      this.#pane.reset(messages);
      this.#confirmId = undefined;
      if (this.#focus === 'select' || this.#focus === 'confirm') this.#focus = 'compose';
      const notice = RESET_NOTICES[reason];
      if (notice) this.#tell('info', notice);
      this.#requestRender();
    });
    session.on('message', (message) => this.#addLive(message));
    session.on('delete', (id) => {
      if (!this.#pane.remove(id)) return;
      if (this.#confirmId === id) {
        this.#confirmId = undefined;
        this.#focus = 'select';
      }
      if (this.#pane.selectedId === undefined && this.#focus === 'select') this.#focus = 'compose';
      this.#requestRender();
    });
    session.on('state', () => this.#requestRender());
    session.on('queue', () => this.#requestRender());
    let lastName: string | undefined;
    session.on('identity', (username) => {
      if (username !== undefined) lastName = username;
      else if (this.#focus !== 'login') {
        // Refused, or logged out elsewhere: back to the prompt, with the name ready to retry.
        this.#focus = 'login';
        this.#pane.select(undefined);
        this.#confirmId = undefined;
        if (this.#nameEditor.isEmpty && lastName) this.#nameEditor.set(lastName);
      }
      this.#requestRender();
    });
    session.on('problem', (error) => this.#tell('error', error.message));
  }

  #addLive(message: ChatMessage): void {
    this.#pane.add(message);
    this.#requestRender();
  }

  readonly #onKey = (name: string, _matches: string[], data: { isCharacter?: boolean }): void => {
    const isCharacter = data.isCharacter === true;
    const editor = this.#focus === 'login' ? this.#nameEditor : this.#composer;
    if (name === 'CTRL_C') this.#askQuit();
    // Ctrl-D quits on an empty line only; in a draft it deletes, as in readline.
    else if (name === 'CTRL_D' && editor.isEmpty) this.#askQuit();
    else if (name === 'CTRL_L') this.#painter.invalidate();
    else if (name === 'PAGE_UP') this.#pane.scrollBy(this.#pane.pageRows);
    else if (name === 'PAGE_DOWN') this.#pane.scrollBy(-this.#pane.pageRows);
    else if (this.#focus === 'quit') this.#quitKey(name, isCharacter);
    else if (this.#focus === 'confirm') this.#confirmKey(name, isCharacter);
    else if (this.#focus === 'select') this.#selectKey(name, isCharacter);
    else this.#editKey(name, isCharacter);
    this.#requestRender();
  };

  readonly #onMouse = (name: string, data: { x: number; y: number }): void => {
    if (name === 'MOUSE_WHEEL_UP') this.#pane.scrollBy(WHEEL_ROWS);
    else if (name === 'MOUSE_WHEEL_DOWN') this.#pane.scrollBy(-WHEEL_ROWS);
    else if (name === 'MOUSE_LEFT_BUTTON_PRESSED' || name === 'MOUSE_RIGHT_BUTTON_PRESSED') {
      if (this.#focus === 'confirm' || this.#focus === 'quit' || this.#focus === 'login') return;
      const row = data.y - 1; // terminal rows count from 1
      const id = this.#pane.idAt(row - 1); // the pane starts below the header
      if (id !== undefined) {
        this.#pane.select(id);
        this.#focus = 'select';
        if (name === 'MOUSE_RIGHT_BUTTON_PRESSED') this.#askDelete(id);
      } else if (row >= this.#composerTop) {
        this.#backToComposer();
      }
    } else return;
    this.#requestRender();
  };

  readonly #onPaste = (pasted: string): void => {
    if (!this.#isActive) return;
    const text = cleanPaste(pasted);
    if (this.#focus === 'login') this.#nameEditor.insert(text.replace(/\s*\n\s*/g, ' '));
    else {
      if (this.#focus === 'quit' || this.#focus === 'confirm' || this.#focus === 'select') this.#backToComposer();
      this.#composer.insert(text);
    }
    this.#requestRender();
  };

  readonly #onResize = (): void => {
    this.#painter.invalidate();
    this.#pane.resize(this.#term.width, this.#paneHeight(this.#composerView()));
    this.#render();
  };

  #editKey(name: string, isCharacter: boolean): void {
    const isLogin = this.#focus === 'login';
    const editor = isLogin ? this.#nameEditor : this.#composer;
    if (isCharacter) return editor.insert(name);
    if (name === 'ENTER' || name === 'KP_ENTER') return isLogin ? this.#login() : this.#send();
    if (isLogin) return void editor.applyKey(name);
    if (name === 'ALT_ENTER') return editor.insert('\n');
    if (name === 'UP' || name === 'DOWN') {
      // In a draft of several rows, Up and Down move between them; past its edges they recall history.
      const direction = name === 'UP' ? -1 : 1;
      if (editor.moveVertically(direction, draftWidth(this.#term.width, editor))) return;
      return direction === -1 ? editor.historyBack() : editor.historyForward();
    }
    if (editor.applyKey(name)) return;
    if (name === 'TAB') {
      if (this.#pane.isEmpty) return this.#tell('info', 'no messages to select yet');
      this.#focus = 'select';
      return this.#pane.selectVisible();
    }
    if (name === 'ESCAPE') {
      // Cancel whatever is showing: a notice, a scrolled-back view.
      this.#notice = undefined;
      this.#pane.jumpToNewest();
    }
  }

  #selectKey(name: string, isCharacter: boolean): void {
    switch (name) {
      case 'UP': return this.#pane.moveSelection(-1);
      case 'DOWN': return this.#pane.moveSelection(1);
      case 'HOME': return this.#pane.moveSelection('oldest');
      case 'END': return this.#pane.moveSelection('newest');
      case 'DELETE': {
        const id = this.#pane.selectedId;
        return id === undefined ? undefined : this.#askDelete(id);
      }
      case 'ESCAPE':
        this.#notice = undefined;
        return this.#backToComposer();
      case 'TAB':
        return this.#backToComposer();
      case 'ENTER': case 'KP_ENTER':
        this.#backToComposer();
        return this.#pane.jumpToNewest();
    }
    // Anything else is typing (a letter, Backspace, Left...): it goes to the composer.
    this.#backToComposer();
    this.#editKey(name, isCharacter);
  }

  #confirmKey(name: string, isCharacter: boolean): void {
    const id = this.#confirmId;
    this.#confirmId = undefined;
    this.#focus = 'select';
    if (name === 'y' || name === 'Y') {
      if (id !== undefined) this.#delete(id);
      return;
    }
    if (['n', 'N', 'ESCAPE', 'ENTER', 'KP_ENTER'].includes(name)) return;
    // Another key: the question was not what the user was answering; they were typing.
    this.#selectKey(name, isCharacter);
  }

  #quitKey(name: string, isCharacter: boolean): void {
    if (name === 'y' || name === 'Y') return this.#exit();
    this.#focus = this.#focusBeforeQuit === 'confirm' ? 'select' : this.#focusBeforeQuit;
    if (['n', 'N', 'ESCAPE', 'ENTER', 'KP_ENTER'].includes(name)) return;
    if (this.#focus === 'select') this.#selectKey(name, isCharacter);
    else this.#editKey(name, isCharacter);
  }

  #askQuit(): void {
    const unsent = this.#session.queued.length;
    if (unsent === 0 || this.#focus === 'quit') return this.#exit();
    this.#focusBeforeQuit = this.#focus;
    this.#confirmId = undefined; // a delete question being answered is dropped
    this.#focus = 'quit';
    this.#notice = undefined;
  }

  #askDelete(id: number): void {
    const message = this.#pane.get(id);
    if (!message) return;
    if (!this.#session.isLoggedIn) return this.#tell('error', 'log in to delete your messages');
    if (message.user !== this.#session.username) {
      return this.#tell('error', `you can only delete your own messages; this one is ${sanitize(message.user)}'s`);
    }
    if (this.#session.state.kind !== 'online') return this.#tell('error', 'not deleted: you are offline');
    this.#confirmId = id;
    this.#focus = 'confirm';
    this.#notice = undefined;
  }

  #delete(id: number): void {
    this.#session.delete(id).then(
      () => this.#tell('info', 'message deleted'),
      (error: unknown) => this.#tell('error', `not deleted: ${toParleyError(error).message}`),
    );
  }

  #login(): void {
    if (this.#isLoggingIn) return;
    const check = checkUsername(this.#nameEditor.value);
    if (!check.ok) return this.#tell('error', check.message);
    this.#isLoggingIn = true;
    const done = (username: string) => {
      this.#isLoggingIn = false;
      this.#nameEditor.take();
      if (this.#focus === 'login') this.#focus = 'compose';
      this.#tell('info', `logged in as ${username}`);
    };
    const failed = (error: unknown) => {
      this.#isLoggingIn = false;
      this.#tell('error', toParleyError(error).message);
    };
    if (this.#session.state.kind === 'online') return void this.#session.login(check.username).then(done, failed);
    // Offline: the name is used as soon as the server is back; meanwhile one can write.
    this.#session.login(check.username).then(done, failed);
    this.#nameEditor.take();
    this.#focus = 'compose';
    this.#tell('info', `you will be logged in as ${check.username} once connected`);
  }

  #send(): void {
    // Trailing blank lines and spaces never mean anything; a paste often ends in a newline.
    const text = this.#composer.value.trimEnd();
    if (text.trim() === '') return this.#pane.jumpToNewest(); // Enter on an empty line
    // The server's own rules (NFC, length, control characters), so it need not refuse.
    const check = checkText(text);
    if (!check.ok) return this.#tell('error', check.message);
    this.#composer.take();
    this.#pane.jumpToNewest();
    this.#session.send(check.text).then(
      ({ message, duplicate }) => {
        // Shown now if the feed has not brought it yet. A duplicate (a resend after a lost
        // reply) was stored earlier and came through the feed, with its deletion if it is gone
        // since; the server then answers with an emptied or evicted copy, which must not return.
        const last = this.#session.last;
        if (!duplicate && (last === undefined || message.id > last)) this.#addLive(message);
      },
      (error: unknown) => {
        this.#tell('error', `not sent: ${toParleyError(error).message}`);
        if (this.#composer.isEmpty) this.#composer.set(text);
        this.#requestRender();
      },
    );
  }

  #backToComposer(): void {
    this.#focus = 'compose';
    this.#pane.select(undefined);
  }

  #tell(kind: Notice['kind'], text: string): void {
    this.#notice = { kind, text, until: Date.now() + NOTICE_MS[kind] };
    this.#requestRender();
  }

  #exit(): void {
    this.#quit?.();
  }

  #requestRender(): void {
    if (this.#isRenderQueued || !this.#isActive) return;
    this.#isRenderQueued = true;
    setImmediate(() => {
      this.#isRenderQueued = false;
      this.#render();
    });
  }

  #render(): void {
    if (!this.#isActive) return;
    const width = this.#term.width;
    const height = this.#term.height;
    if (width < MIN_WIDTH || height < MIN_HEIGHT) {
      const lines: Line[] = Array.from({ length: height }, () => ({ spans: [] }));
      lines[0] = { spans: [{ text: truncate('Parley: the window is too small', width), style: theme.header }] };
      return this.#painter.paint(lines, width, undefined);
    }
    const composer = this.#composerView();
    this.#composerTop = height - composer.lines.length;
    const lines = [
      headerLine(`${this.#session.host}:${this.#session.port}`, this.#session.username, width),
      ...this.#pane.layout(width, this.#paneHeight(composer), this.#emptyText()),
      statusLine(this.#statusView(), width),
      ...composer.lines,
    ];
    const cursor = composer.cursor && { x: composer.cursor.column, y: this.#composerTop + composer.cursor.row };
    this.#painter.paint(lines, width, cursor);
  }

  /** Rows left for messages: the screen less the header, the status bar and the composer. */
  #paneHeight(composer: ComposerView): number {
    return Math.max(1, this.#term.height - 2 - composer.lines.length);
  }

  /** The composer rows; a long draft may take up to a third of the screen. */
  #composerView(): ComposerView {
    const maxRows = Math.max(1, Math.min(MAX_COMPOSER_ROWS, Math.floor((this.#term.height - 3) / 3)));
    return composerLines(this.#composerMode(), this.#term.width, maxRows);
  }

  #emptyText(): string {
    const session = this.#session;
    // Never connected: the reason is the one thing worth reading, in full, not cut in the status bar.
    if (session.state.kind === 'offline' && !session.hasBeenOnline) return session.state.error.message;
    if (session.isLoggedIn) return 'No messages yet. Say hello!';
    if (session.username !== undefined) return `You will be logged in as ${sanitize(session.username)} once connected.`;
    return 'Log in to read and send messages.';
  }

  #statusView(): Parameters<typeof statusLine>[0] {
    return {
      state: this.#session.state,
      hasBeenOnline: this.#session.hasBeenOnline,
      server: `${this.#session.host}:${this.#session.port}`,
      queued: this.#session.state.kind === 'online' ? 0 : this.#session.queued.length,
      notice: this.#notice && this.#notice.until > Date.now() ? this.#notice : undefined,
      hints: HINTS[this.#focus],
      now: Date.now(),
    };
  }

  #composerMode(): ComposerMode {
    if (this.#focus === 'login') return { kind: 'login', editor: this.#nameEditor };
    if (this.#focus === 'quit') {
      const count = this.#session.queued.length;
      return { kind: 'confirm', question: `${count === 1 ? '1 message' : `${count} messages`} not sent — quit anyway?` };
    }
    if (this.#focus === 'confirm') {
      const text = this.#pane.get(this.#confirmId ?? -1)?.text ?? '';
      return { kind: 'confirm', question: `Delete your message "${truncate(sanitize(text).replace(/\s+/g, ' '), 30)}"?` };
    }
    return { kind: 'compose', editor: this.#composer, isSelecting: this.#focus === 'select' };
  }
}
