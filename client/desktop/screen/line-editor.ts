// The composer's text and cursor, with readline's editing keys and a history of what was
// sent. Pure state: the screen maps keys to these calls and draws `view()` (one row that
// slides sideways, for the name prompt) or `layout()` (rows, for a draft that may hold
// newlines from a paste or Alt-Enter).
//
// The cursor counts grapheme clusters, not UTF-16 units, so Left, Backspace and Delete step
// over "é" (e + U+0301), an emoji or a flag as one character, never splitting one in half.
// A newline is one character too; Home, End, Ctrl-U and Ctrl-K stop at it, as in a shell.
import { graphemeWidth, graphemes } from './text-width.js';

const MAX_HISTORY = 200;
const NEWLINE = '\n';

/** One screen row of the draft: characters [start, end) of it, and their text. */
export interface DraftRow {
  start: number;
  end: number;
  text: string;
}

export interface DraftLayout {
  rows: DraftRow[];
  cursorRow: number;
  /** Cells from the start of the cursor's row. */
  cursorColumn: number;
}

export class LineEditor {
  #chars: string[] = [];
  #cursor = 0;
  readonly #history: string[] = [];
  /** Index into history while browsing with Up/Down; history.length means "the draft". */
  #browse = 0;
  #draft = '';

  get value(): string {
    return this.#chars.join('');
  }

  get isEmpty(): boolean {
    return this.#chars.length === 0;
  }

  /** The cursor position in graphemes. */
  get cursor(): number {
    return this.#cursor;
  }

  set(value: string): void {
    this.#chars = graphemes(value);
    this.#cursor = this.#chars.length;
  }

  insert(text: string): void {
    // "\r\n" is one grapheme cluster; a terminal's paste has those, and bare "\r" too.
    text = text.replace(/\r\n?/g, NEWLINE);
    // Re-segment around the cursor: a combining mark typed after "e" joins it.
    const before = this.#chars.slice(0, this.#cursor).join('') + text;
    const beforeChars = graphemes(before);
    this.#chars = [...beforeChars, ...this.#chars.slice(this.#cursor)];
    this.#chars = graphemes(this.#chars.join(''));
    this.#cursor = Math.min(beforeChars.length, this.#chars.length);
  }

  /**
   * Applies an editing key by its terminal-kit name (readline's bindings); false when the key
   * is not an editing key. Up and Down are left to the caller: the name prompt has no history.
   */
  applyKey(name: string): boolean {
    const action = this.#bindings[name];
    if (!action) return false;
    action();
    return true;
  }

  readonly #bindings: Record<string, () => void> = {
    LEFT: () => this.left(),
    RIGHT: () => this.right(),
    HOME: () => this.home(),
    CTRL_A: () => this.home(),
    END: () => this.end(),
    CTRL_E: () => this.end(),
    BACKSPACE: () => this.backspace(),
    DELETE: () => this.deleteForward(),
    CTRL_D: () => this.deleteForward(),
    CTRL_U: () => this.deleteToStart(),
    CTRL_K: () => this.deleteToEnd(),
    CTRL_W: () => this.deleteWordBack(),
    ALT_BACKSPACE: () => this.deleteWordBack(),
  };

  left(): void {
    this.#cursor = Math.max(0, this.#cursor - 1);
  }

  right(): void {
    this.#cursor = Math.min(this.#chars.length, this.#cursor + 1);
  }

  /** To the start of the line the cursor is on (the whole draft is one line without newlines). */
  home(): void {
    this.#cursor = this.#lineStart();
  }

  end(): void {
    this.#cursor = this.#lineEnd();
  }

  backspace(): void {
    if (this.#cursor === 0) return;
    this.#chars.splice(this.#cursor - 1, 1);
    this.#cursor--;
  }

  deleteForward(): void {
    this.#chars.splice(this.#cursor, 1);
  }

  /** Ctrl-U: deletes from the start of the line to the cursor. */
  deleteToStart(): void {
    const start = this.#lineStart();
    this.#chars.splice(start, this.#cursor - start);
    this.#cursor = start;
  }

  /** Ctrl-K: deletes from the cursor to the end of the line. */
  deleteToEnd(): void {
    this.#chars.splice(this.#cursor, this.#lineEnd() - this.#cursor);
  }

  /** Ctrl-W: deletes the word before the cursor and the spaces after it, like readline. */
  deleteWordBack(): void {
    const isSpace = (char: string | undefined) => char === ' ' || char === NEWLINE;
    let start = this.#cursor;
    while (start > 0 && isSpace(this.#chars[start - 1])) start--;
    while (start > 0 && !isSpace(this.#chars[start - 1])) start--;
    this.#chars.splice(start, this.#cursor - start);
    this.#cursor = start;
  }

  /**
   * The draft as rows of at most `width` cells: a row ends at a newline, or after its last
   * space when the next word would not fit. The last cell of each row stays free for the
   * cursor. A cursor where a row wraps shows at the start of the next row.
   */
  layout(width: number): DraftLayout {
    const room = Math.max(2, width - 1);
    const rows: DraftRow[] = [];
    let start = 0;
    let used = 0;
    for (let i = 0; i < this.#chars.length; i++) {
      const char = this.#chars[i]!;
      if (char === NEWLINE) {
        rows.push(this.#row(start, i));
        start = i + 1;
        used = 0;
        continue;
      }
      const w = graphemeWidth(char);
      if (char === ' ' && used + w > room) {
        // A space where the row is full stays at its end, out of sight, and the row breaks after it.
        rows.push(this.#row(start, i + 1));
        start = i + 1;
        used = 0;
        continue;
      }
      if (used + w > room && i > start) {
        // Break after the last space on the row, as a text area does; a word longer than the
        // row is cut where the row is full.
        let end = i;
        while (end > start && this.#chars[end - 1] !== ' ') end--;
        if (end === start) end = i;
        rows.push(this.#row(start, end));
        start = end;
        used = this.#cells(start, i);
        // The word carried over may still leave no room for this character (a wide one): it
        // then keeps a row of its own.
        if (used + w > room && i > start) {
          rows.push(this.#row(start, i));
          start = i;
          used = 0;
        }
      }
      used += w;
    }
    rows.push(this.#row(start, this.#chars.length));
    let cursorRow = 0;
    for (let r = 0; r < rows.length; r++) if (rows[r]!.start <= this.#cursor) cursorRow = r;
    const row = rows[cursorRow]!;
    return { rows, cursorRow, cursorColumn: this.#cells(row.start, this.#cursor) };
  }

  /**
   * Up or Down by one screen row of `layout(width)`, keeping the column as well as the row
   * allows. False on the first or last row, where Up and Down mean history instead.
   */
  moveVertically(direction: -1 | 1, width: number): boolean {
    const { rows, cursorRow, cursorColumn } = this.layout(width);
    const target = rows[cursorRow + direction];
    if (!target) return false;
    // The end of a row that wraps is where the next row starts; the cursor would show there.
    const isWrapped = rows[cursorRow + direction + 1]?.start === target.end;
    const last = isWrapped ? target.end - 1 : target.end;
    let index = target.start;
    let used = 0;
    while (index < last) {
      const w = graphemeWidth(this.#chars[index]!);
      if (used + w > cursorColumn) break;
      used += w;
      index++;
    }
    this.#cursor = index;
    return true;
  }

  #row(start: number, end: number): DraftRow {
    return { start, end, text: this.#chars.slice(start, end).join('') };
  }

  #cells(start: number, end: number): number {
    let cells = 0;
    for (let i = start; i < end; i++) cells += graphemeWidth(this.#chars[i]!);
    return cells;
  }

  #lineStart(): number {
    let start = this.#cursor;
    while (start > 0 && this.#chars[start - 1] !== NEWLINE) start--;
    return start;
  }

  #lineEnd(): number {
    let end = this.#cursor;
    while (end < this.#chars.length && this.#chars[end] !== NEWLINE) end++;
    return end;
  }

  /** Empties the line and remembers it for Up; returns what was there. */
  take(): string {
    const value = this.value;
    if (value.trim() !== '' && this.#history.at(-1) !== value) {
      this.#history.push(value);
      if (this.#history.length > MAX_HISTORY) this.#history.shift();
    }
    this.#chars = [];
    this.#cursor = 0;
    this.#browse = this.#history.length;
    this.#draft = '';
    return value;
  }

  /** Up: the previous line sent; the line being typed is kept as a draft. */
  historyBack(): void {
    if (this.#browse === 0) return;
    if (this.#browse === this.#history.length) this.#draft = this.value;
    this.#browse--;
    this.set(this.#history[this.#browse]!);
  }

  /** Down: the next line sent, and finally the draft again. */
  historyForward(): void {
    if (this.#browse >= this.#history.length) return;
    this.#browse++;
    this.set(this.#browse === this.#history.length ? this.#draft : this.#history[this.#browse]!);
  }

  /**
   * What fits in `width` cells, scrolled so the cursor stays visible, and the cursor's column
   * in it. A line longer than the screen slides left as you type, like a shell prompt.
   */
  view(width: number): { text: string; cursorColumn: number } {
    const widths = this.#chars.map(graphemeWidth);
    const room = Math.max(1, width - 1); // keep the cell after the last character for the cursor
    let start = 0;
    let cursorColumn = widths.slice(0, this.#cursor).reduce((sum, w) => sum + w, 0);
    while (cursorColumn > room) {
      cursorColumn -= widths[start]!;
      start++;
    }
    let text = '';
    let used = 0;
    for (let i = start; i < this.#chars.length; i++) {
      if (used + widths[i]! > width) break;
      text += this.#chars[i];
      used += widths[i]!;
    }
    return { text, cursorColumn };
  }
}
