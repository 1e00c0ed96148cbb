// Draws frames: a frame is one Line per screen row, made of styled spans. The painter turns
// lines into escape sequences and writes only the rows that changed since the last frame, in
// one write, so typing a character repaints one row, not the screen, and nothing flickers.
//
// Styles are plain SGR (ECMA-48: `ESC [ 0 ; 1 ; 38;5;N m`), which every terminal terminal-kit
// drives understands; each span starts from a reset, so no style leaks from one span or row
// into the next. Rows are ended with "erase to end of line" instead of writing the last
// column, because writing the bottom-right cell makes some terminals scroll.
import type { Writable } from 'node:stream';
import { textWidth, truncate } from './text-width.js';

const ESC = '\x1b[';

export interface Style {
  /** xterm 256-colour palette index. */
  fg?: number;
  bg?: number;
  bold?: boolean;
  dim?: boolean;
  italic?: boolean;
  underline?: boolean;
}

export interface Span {
  text: string;
  style?: Style;
}

export interface Line {
  spans: Span[];
  /** Style of the cells after the last span (a selected message's background). */
  fill?: Style;
}

export interface Cursor {
  /** 0-based column and row. */
  x: number;
  y: number;
}

export function sgr(style: Style | undefined): string {
  const codes = ['0'];
  if (style?.bold) codes.push('1');
  if (style?.dim) codes.push('2');
  if (style?.italic) codes.push('3');
  if (style?.underline) codes.push('4');
  if (style?.fg !== undefined) codes.push(`38;5;${style.fg}`);
  if (style?.bg !== undefined) codes.push(`48;5;${style.bg}`);
  return `${ESC}${codes.join(';')}m`;
}

/**
 * A line as escape sequences, cut to `width` cells. A coloured fill is written as spaces too:
 * erase-to-end-of-line paints the background only on terminals with "background colour
 * erase", and tmux's copy of the screen does not keep it.
 */
export function encodeLine(line: Line, width: number): string {
  let out = '';
  let used = 0;
  for (const span of line.spans) {
    if (used >= width) break;
    const room = width - used;
    const text = textWidth(span.text) > room ? truncate(span.text, room) : span.text;
    out += sgr(span.style) + text;
    used += textWidth(text);
  }
  const fill = line.fill?.bg === undefined ? '' : ' '.repeat(width - used);
  return `${out}${sgr(line.fill)}${fill}${ESC}K${ESC}0m`;
}

export class Painter {
  readonly #out: Writable;
  #rows: string[] = [];
  #width = 0;

  constructor(out: Writable) {
    this.#out = out;
  }

  /** Forget what is on screen (after a resize): the next paint redraws every row. */
  invalidate(): void {
    this.#rows = [];
  }

  paint(lines: Line[], width: number, cursor: Cursor | undefined): void {
    if (width !== this.#width) {
      this.#width = width;
      this.#rows = [];
    }
    let out = '';
    if (this.#rows.length === 0) out += `${ESC}0m${ESC}2J`;
    for (let y = 0; y < lines.length; y++) {
      const row = encodeLine(lines[y]!, width);
      if (this.#rows[y] === row) continue;
      this.#rows[y] = row;
      out += `${ESC}${y + 1};1H${row}`;
    }
    this.#rows.length = lines.length;
    out += cursor ? `${ESC}${cursor.y + 1};${cursor.x + 1}H${ESC}?25h` : `${ESC}?25l`;
    this.#out.write(out);
  }
}
