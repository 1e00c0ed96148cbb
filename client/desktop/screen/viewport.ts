// Which rows of the message list are on screen. Pure: rows and a scroll position in, screen
// lines and the message behind each line out (the mouse needs that).
//
// `scroll` counts rows up from the newest, so 0 means "follow the conversation" and a new
// message does not move a reader who stays at 0. The list is bottom-aligned, like every chat:
// with few messages, the empty space is at the top, next to the header, not above the composer.
//
//   rows:  [ 0 1 2 3 4 5 6 7 8 9 ]     height 4, scroll 3
//                    |-------|           start = 10 - 3 - 4 = 3, end = 10 - 3 = 7
import type { Row } from './message-list.js';
import { highlight } from './message-view.js';
import type { Line } from './painter.js';
import { textWidth, wrap } from './text-width.js';
import { theme } from './theme.js';

export interface ViewportInput {
  rows: Row[];
  height: number;
  width: number;
  scroll: number;
  selectedId: number | undefined;
  /** New messages that arrived while scrolled back. */
  unseen: number;
  /** Shown in the middle when there are no rows; wrapped when long. */
  emptyText: string;
}

export interface Viewport {
  lines: Line[];
  /** The message behind each line, for mouse clicks. */
  ids: (number | undefined)[];
  /** The scroll position, clamped to what the rows allow. */
  scroll: number;
  /** The oldest row is on screen: time to load an older page. */
  isAtTop: boolean;
}

export function layoutViewport(input: ViewportInput): Viewport {
  const { rows, height, width } = input;
  const scroll = Math.max(0, Math.min(input.scroll, rows.length - height));
  const end = rows.length - scroll;
  const start = Math.max(0, end - height);
  const lines: Line[] = [];
  const ids: (number | undefined)[] = [];
  for (let i = end - start; i < height; i++) {
    lines.push({ spans: [] });
    ids.push(undefined);
  }
  if (rows.length === 0) {
    const text = wrap(input.emptyText, Math.max(10, width - 4)).slice(0, height);
    const top = Math.max(0, Math.floor((height - text.length) / 2));
    text.forEach((line, index) => (lines[top + index] = centred(line, width, theme.empty)));
  }
  for (const row of rows.slice(start, end)) {
    const isSelected = row.messageId !== undefined && row.messageId === input.selectedId;
    lines.push(isSelected ? highlight(row.line, theme.selected) : row.line);
    ids.push(row.messageId);
  }
  if (scroll > 0 && height > 1) {
    // Scrolled back: the last line says so, and how much is waiting below.
    const below = input.unseen > 0 ? `↓ ${input.unseen} new ${input.unseen === 1 ? 'message' : 'messages'}` : '↓ more below';
    lines[height - 1] = centred(` ${below} · Enter to jump `, width, theme.scrollMark, '─');
    ids[height - 1] = undefined;
  }
  return { lines, ids, scroll, isAtTop: start === 0 };
}

/**
 * The scroll position that shows every row of message `id`, moving as little as possible. A
 * day line right above the message comes along, so the first message of a day is never shown
 * without its date.
 */
export function revealScroll(rows: Row[], id: number, height: number, scroll: number): number {
  let first = rows.findIndex((row) => row.messageId === id);
  if (first === -1) return scroll;
  let last = first;
  while (rows[last + 1]?.messageId === id) last++;
  if (first > 0 && rows[first - 1]!.messageId === undefined && last - first + 1 < height) first--;
  let next = scroll;
  if (last >= rows.length - next) next = rows.length - (last + 1);
  // When scrolled back one line is taken by the "more below" mark: keep the message above it.
  if (next > 0 && last === rows.length - next - 1) next++;
  if (first < rows.length - next - height) next = rows.length - first - height;
  return Math.max(0, next);
}

function centred(text: string, width: number, style: Line['spans'][number]['style'], pad = ' '): Line {
  const side = Math.max(0, Math.floor((width - textWidth(text)) / 2));
  return { spans: [{ text: pad.repeat(side), style }, { text, style }, { text: pad.repeat(side), style }] };
}
