// The full-screen chat: wires a Session to a terminal. Keys and mouse change state here; every
// change asks for one render on the next tick, which lays the screen out and hands it to the
// painter (many keys from a paste, many pushes after a reconnect: still one render).
//
//   row 0        header: server, user
//   rows 1..h-3  messages, bottom-aligned, scrolled by `#scroll` rows up from the newest
//   row h-2      status bar: connection, queue, notice or key hints
//   row h-1      composer / name prompt / delete confirmation
//
// Focus decides what keys mean: 'login' (the name prompt), 'compose' (typing; Up/Down recall
// what you sent), 'select' (Up/Down pick a message, Delete asks to delete it) and 'confirm'
// (y/n). Tab or Esc switches between compose and select, and the mouse selects directly.
import type { Writable } from 'node:stream';
import type { Terminal } from 'terminal-kit';
import type { ChatMessage } from '../../../protocol/message.js';
import { MAX_TEXT_LENGTH, countCharacters } from '../../../protocol/limits.js';
import { checkUsername } from '../../../protocol/username.js';
import { toParleyError } from '../errors.js';
import type { Session } from '../session.js';
import { composerLine, headerLine, statusLine, type ComposerMode, type Notice } from './bars.js';
import { LineEditor } from './line-editor.js';
import { MessageList, type Row } from './message-list.js';
import { messageLines } from './message-view.js';
import { Painter, type Line } from './painter.js';
import { sanitize, truncate } from './text-width.js';
import { theme } from './theme.js';
import { layoutViewport, revealScroll } from './viewport.js';

const OLDER_PAGE = 100;
const WHEEL_ROWS = 3;
const NOTICE_MS = { error: 8_000, info: 4_000 };
const MIN_WIDTH = 20;
const MIN_HEIGHT = 5;
/** Header, status bar, composer. */
const CHROME_ROWS = 3;

const HINTS = {
  login: 'Enter log in · Ctrl-C quit',
  compose: 'Tab select · PgUp/PgDn scroll · Ctrl-C quit',
  select: '↑↓ move · Del delete · Esc back',
  confirm: 'y delete · n keep',
} as const;

type Focus = keyof typeof HINTS;

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
  readonly #list = new MessageList();
  readonly #composer = new LineEditor();
  readonly #nameEditor = new LineEditor();
  #focus: Focus;
  #selectedId: number | undefined;
  #confirmId: number | undefined;
  /** Rows scrolled up from the newest; 0 follows new messages. */
  #scroll = 0;
  #unseen = 0;
  #notice: (Notice & { until: number }) | undefined;
  #hasOlder = false;
  #isLoadingOlder = false;
  #isLoggingIn = false;
  /** Which message each screen row shows, for the mouse. */
  #rowIds: (number | undefined)[] = [];
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
    this.#focus = options.askName ? 'login' : 'compose';
    this.#listen();
  }

  /** Takes over the terminal until the user quits (Ctrl-C, Ctrl-D); then call restore(). */
  run(): Promise<void> {
    const term = this.#term;
    this.#isActive = true;
    term.fullscreen(true);
    term.grabInput({ mouse: 'button' });
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

  /** Gives the terminal back: normal screen, cursor, no mouse reporting, cooked input. */
  restore(): void {
    if (!this.#isActive) return;
    this.#isActive = false;
    clearInterval(this.#ticker);
    const term = this.#term;
    term.off('key', this.#onKey);
    term.off('mouse', this.#onMouse);
    term.off('resize', this.#onResize);
    term.grabInput(false);
    this.#output.write('\x1b[0m\x1b[?25h');
    term.fullscreen(false);
  }

  #listen(): void {
    const session = this.#session;
    session.on('reset', (messages) => {
      this.#list.reset(messages);
      this.#hasOlder = messages.length > 0;
      if (this.#selectedId !== undefined && !this.#list.get(this.#selectedId)) {
        this.#selectedId = undefined;
        if (this.#focus === 'select') this.#focus = 'compose';
      }
      this.#scroll = 0;
      this.#requestRender();
    });
    session.on('message', (message) => this.#addLive(message));
    session.on('delete', (id) => {
      // Keep a selection on the neighbour, so deleting several messages is Del, y, Del, y.
      const neighbour = this.#selectedId === id ? this.#neighbourOf(id) : this.#selectedId;
      if (!this.#list.remove(id)) return;
      if (this.#confirmId === id) {
        this.#confirmId = undefined;
        this.#focus = 'select';
      }
      this.#selectedId = neighbour;
      if (neighbour === undefined && this.#focus === 'select') this.#focus = 'compose';
      this.#requestRender();
    });
    session.on('state', () => this.#requestRender());
    session.on('queue', () => this.#requestRender());
    session.on('identity', (username) => {
      if (username === undefined && this.#focus !== 'login') this.#focus = 'login';
      this.#requestRender();
    });
    session.on('problem', (error) => this.#tell('error', error.message));
  }

  #neighbourOf(id: number): number | undefined {
    const next = this.#list.step(id, 1);
    if (next !== id) return next;
    const previous = this.#list.step(id, -1);
    return previous === id ? undefined : previous;
  }

  #addLive(message: ChatMessage): void {
    const width = this.#term.width;
    const before = this.#scroll > 0 ? this.#list.rows(width, this.#session.username).length : 0;
    if (this.#list.add([message]) === 0) return;
    if (this.#scroll > 0) {
      // Scrolled back: keep the rows being read where they are.
      this.#scroll += this.#list.rows(width, this.#session.username).length - before;
      this.#unseen++;
    }
    this.#requestRender();
  }

  readonly #onKey = (name: string, _matches: string[], data: { isCharacter?: boolean }): void => {
    if (name === 'CTRL_C' || name === 'CTRL_D') return this.#exit();
    if (name === 'CTRL_L') this.#painter.invalidate();
    else if (name === 'PAGE_UP') this.#scrollBy(this.#viewHeight() - 1);
    else if (name === 'PAGE_DOWN') this.#scrollBy(-(this.#viewHeight() - 1));
    else if (this.#focus === 'confirm') this.#confirmKey(name);
    else if (this.#focus === 'select') this.#selectKey(name, data.isCharacter === true);
    else this.#editKey(name, data.isCharacter === true);
    this.#requestRender();
  };

  readonly #onMouse = (name: string, data: { x: number; y: number }): void => {
    if (name === 'MOUSE_WHEEL_UP') this.#scrollBy(WHEEL_ROWS);
    else if (name === 'MOUSE_WHEEL_DOWN') this.#scrollBy(-WHEEL_ROWS);
    else if (name === 'MOUSE_LEFT_BUTTON_PRESSED' || name === 'MOUSE_RIGHT_BUTTON_PRESSED') {
      if (this.#focus === 'confirm' || this.#focus === 'login') return;
      const id = this.#rowIds[data.y - 1];
      if (id === undefined) {
        if (data.y === this.#term.height) this.#focus = 'compose';
      } else {
        this.#selectedId = id;
        this.#focus = 'select';
        if (name === 'MOUSE_RIGHT_BUTTON_PRESSED') this.#askDelete(id);
      }
    } else return;
    this.#requestRender();
  };

  readonly #onResize = (): void => {
    this.#painter.invalidate();
    this.#render();
  };

  #editKey(name: string, isCharacter: boolean): void {
    const editor = this.#focus === 'login' ? this.#nameEditor : this.#composer;
    if (isCharacter) return editor.insert(name);
    if (name === 'ENTER' || name === 'KP_ENTER') return this.#focus === 'login' ? this.#login() : this.#send();
    if (editor.applyKey(name)) return;
    if (this.#focus !== 'compose') return;
    switch (name) {
      case 'UP': return editor.historyBack();
      case 'DOWN': return editor.historyForward();
      case 'TAB': case 'ESCAPE':
        if (this.#list.size === 0) return this.#tell('info', 'no messages to select yet');
        this.#focus = 'select';
        this.#selectedId = this.#visibleSelection();
        return this.#revealSelection();
    }
  }

  #selectKey(name: string, isCharacter: boolean): void {
    switch (name) {
      case 'UP': this.#selectedId = this.#list.step(this.#selectedId, -1); return this.#revealSelection();
      case 'DOWN': this.#selectedId = this.#list.step(this.#selectedId, 1); return this.#revealSelection();
      case 'HOME': this.#selectedId = this.#list.oldest?.id; return this.#revealSelection();
      case 'END': this.#selectedId = this.#list.newest?.id; return this.#revealSelection();
      case 'DELETE': case 'BACKSPACE': case 'd':
        return this.#selectedId === undefined ? undefined : this.#askDelete(this.#selectedId);
      case 'ESCAPE': case 'TAB': case 'ENTER':
        this.#focus = 'compose';
        this.#selectedId = undefined;
        return;
    }
    if (isCharacter) {
      // Typing while a message is selected goes to the composer, as one would expect.
      this.#focus = 'compose';
      this.#selectedId = undefined;
      this.#composer.insert(name);
    }
  }

  #confirmKey(name: string): void {
    const id = this.#confirmId;
    if (name !== 'y' && name !== 'Y' && name !== 'n' && name !== 'N' && name !== 'ESCAPE' && name !== 'ENTER') return;
    this.#confirmId = undefined;
    this.#focus = 'select';
    if (id === undefined || (name !== 'y' && name !== 'Y')) return;
    this.#session.delete(id).then(
      () => this.#tell('info', 'message deleted'),
      (error: unknown) => this.#tell('error', `not deleted: ${toParleyError(error).message}`),
    );
  }

  #askDelete(id: number): void {
    const message = this.#list.get(id);
    if (!message) return;
    if (!this.#session.isLoggedIn) return this.#tell('error', 'log in to delete your messages');
    if (message.user !== this.#session.username) {
      return this.#tell('error', `you can only delete your own messages; this one is ${sanitize(message.user)}'s`);
    }
    this.#confirmId = id;
    this.#focus = 'confirm';
    this.#notice = undefined;
  }

  #login(): void {
    if (this.#isLoggingIn) return;
    const check = checkUsername(this.#nameEditor.value);
    if (!check.ok) return this.#tell('error', check.message);
    this.#isLoggingIn = true;
    this.#session.login(check.username).then(
      (username) => {
        this.#isLoggingIn = false;
        this.#nameEditor.take();
        this.#focus = 'compose';
        this.#tell('info', `logged in as ${username}`);
      },
      (error: unknown) => {
        this.#isLoggingIn = false;
        this.#tell('error', toParleyError(error).message);
      },
    );
  }

  #send(): void {
    const text = this.#composer.value;
    if (text.trim() === '') {
      this.#scroll = 0; // Enter on an empty line jumps back to the newest messages
      this.#unseen = 0;
      return;
    }
    const length = countCharacters(text.normalize('NFC'));
    if (length > MAX_TEXT_LENGTH) {
      return this.#tell('error', `message is ${length.toLocaleString('en')} characters; the limit is ${MAX_TEXT_LENGTH.toLocaleString('en')}`);
    }
    this.#composer.take();
    this.#scroll = 0;
    this.#unseen = 0;
    this.#session.send(text).then(
      ({ message }) => this.#addLive(message),
      (error: unknown) => {
        this.#tell('error', `not sent: ${toParleyError(error).message}`);
        if (this.#composer.isEmpty) this.#composer.set(text);
        this.#requestRender();
      },
    );
  }

  #scrollBy(rows: number): void {
    this.#scroll = Math.max(0, this.#scroll + rows);
    if (this.#scroll === 0) this.#unseen = 0;
  }

  #tell(kind: Notice['kind'], text: string): void {
    this.#notice = { kind, text, until: Date.now() + NOTICE_MS[kind] };
    this.#requestRender();
  }

  #exit(): void {
    this.#quit?.();
  }

  #viewHeight(): number {
    return Math.max(1, this.#term.height - CHROME_ROWS);
  }

  /** The newest message on screen, to start selecting from. */
  #visibleSelection(): number | undefined {
    const ids = this.#rowIds.filter((id): id is number => id !== undefined);
    return ids.at(-1) ?? this.#list.newest?.id;
  }

  /** Scrolls just enough to show every row of the selected message. */
  #revealSelection(): void {
    if (this.#selectedId === undefined) return;
    this.#scroll = revealScroll(this.#allRows(), this.#selectedId, this.#viewHeight(), this.#scroll);
    if (this.#selectedId === this.#list.oldest?.id) void this.#loadOlder();
  }

  #allRows(): Row[] {
    const width = this.#term.width;
    const me = this.#session.username;
    const rows = this.#list.rows(width, me);
    const layout = this.#list.layout(width, me);
    for (const queued of this.#session.queued) {
      const lines = messageLines({ user: me ?? '', text: queued.text, time: '' }, layout, 'pending');
      for (const line of lines) rows.push({ line });
    }
    return rows;
  }

  async #loadOlder(): Promise<void> {
    const oldest = this.#list.oldest;
    if (this.#isLoadingOlder || !this.#hasOlder || !oldest || this.#session.state.kind !== 'online') return;
    this.#isLoadingOlder = true;
    try {
      const page = await this.#session.history({ before: oldest.id, limit: OLDER_PAGE });
      this.#hasOlder = page.messages.length > 0;
      this.#list.add(page.messages);
    } catch (error) {
      this.#tell('error', `could not load older messages: ${toParleyError(error).message}`);
    } finally {
      this.#isLoadingOlder = false;
      this.#requestRender();
    }
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
      this.#rowIds = [];
      return this.#painter.paint(lines, width, undefined);
    }
    const viewport = layoutViewport({
      rows: this.#allRows(),
      height: this.#viewHeight(),
      width,
      scroll: this.#scroll,
      selectedId: this.#selectedId,
      unseen: this.#unseen,
      emptyText: this.#session.isLoggedIn ? 'No messages yet. Say hello!' : 'Log in to read and send messages.',
    });
    this.#scroll = viewport.scroll;
    if (this.#scroll === 0) this.#unseen = 0;
    if (viewport.isAtTop && this.#scroll > 0) void this.#loadOlder();
    const lines = [headerLine(`${this.#session.host}:${this.#session.port}`, this.#session.username, width), ...viewport.lines];
    this.#rowIds = [undefined, ...viewport.ids, undefined];
    lines.push(statusLine(this.#statusView(), width));
    const composer = composerLine(this.#composerMode(), width);
    lines.push(composer.line);
    const cursor = composer.cursorColumn === undefined ? undefined : { x: composer.cursorColumn, y: height - 1 };
    this.#painter.paint(lines, width, cursor);
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
    if (this.#focus === 'confirm') {
      const text = this.#list.get(this.#confirmId ?? -1)?.text ?? '';
      return { kind: 'confirm', question: `Delete your message "${truncate(sanitize(text).replace(/\s+/g, ' '), 30)}"?` };
    }
    return { kind: 'compose', editor: this.#composer, isSelecting: this.#focus === 'select' };
  }
}

