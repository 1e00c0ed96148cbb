// The composer's text and cursor, with readline's editing keys and a history of what was
// sent. Pure state: the screen maps keys to these calls and draws `view()`.
//
// The cursor counts grapheme clusters, not UTF-16 units, so Left, Backspace and Delete step
// over "é" (e + U+0301), an emoji or a flag as one character, never splitting one in half.
import { graphemeWidth, graphemes } from './text-width.js';

const MAX_HISTORY = 200;

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

  home(): void {
    this.#cursor = 0;
  }

  end(): void {
    this.#cursor = this.#chars.length;
  }

  backspace(): void {
    if (this.#cursor === 0) return;
    this.#chars.splice(this.#cursor - 1, 1);
    this.#cursor--;
  }

  deleteForward(): void {
    this.#chars.splice(this.#cursor, 1);
  }

  /** Ctrl-U: deletes everything before the cursor. */
  deleteToStart(): void {
    this.#chars.splice(0, this.#cursor);
    this.#cursor = 0;
  }

  /** Ctrl-K: deletes everything after the cursor. */
  deleteToEnd(): void {
    this.#chars.splice(this.#cursor);
  }

  /** Ctrl-W: deletes the word before the cursor and the spaces after it, like readline. */
  deleteWordBack(): void {
    let start = this.#cursor;
    while (start > 0 && this.#chars[start - 1] === ' ') start--;
    while (start > 0 && this.#chars[start - 1] !== ' ') start--;
    this.#chars.splice(start, this.#cursor - start);
    this.#cursor = start;
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
