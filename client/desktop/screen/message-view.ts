// How one message looks: local time, the author right-aligned in a column, a bar, and the text
// wrapped with a hanging indent so every line of it starts in the same column. Pure.
//
// The name column has a fixed width for a given screen width: sized to the longest name seen,
// it would widen when someone with a longer name posts and shift every line on screen.
//
//    14:03      alice │ a message long enough to wrap keeps its text
//                     │ in one column
//    14:05        bob ┃ your own messages get a heavy bar and your colour
//
import type { ChatMessage } from '../../../protocol/message.js';
import type { Line, Span, Style } from './painter.js';
import { fit, sanitize, textWidth, wrap } from './text-width.js';
import { glyphs, nameStyle, theme } from './theme.js';

const MIN_NAME_COLUMN = 3;
/** Longer names are cut with "…"; the full name is in the header (your own) or the web client. */
const NAME_COLUMN = 12;
/** Below this width the time column goes, so the text keeps room to breathe. */
const TIME_COLUMN_MIN_SCREEN = 48;

export interface MessageLayout {
  width: number;
  nameColumn: number;
  showTime: boolean;
  /** Who "me" is, for highlighting; undefined before login. */
  me: string | undefined;
}

export type MessageVariant = 'normal' | 'pending';

/** The column widths for a screen width. */
export function messageLayout(width: number, me: string | undefined): MessageLayout {
  const nameColumn = Math.max(MIN_NAME_COLUMN, Math.min(NAME_COLUMN, Math.floor(width / 4)));
  return { width, nameColumn, showTime: width >= TIME_COLUMN_MIN_SCREEN, me };
}

export function messageLines(
  message: Pick<ChatMessage, 'user' | 'text' | 'time'>,
  layout: MessageLayout,
  variant: MessageVariant = 'normal',
): Line[] {
  const isOwn = message.user === layout.me;
  const timeText = variant === 'pending' ? '  ·  ' : formatTime(message.time);
  const prefix = (first: boolean): Span[] => {
    const spans: Span[] = [{ text: ' ' }];
    if (layout.showTime) spans.push({ text: first ? timeText : '     ', style: theme.time }, { text: ' ' });
    spans.push({
      text: fit(first ? sanitize(message.user) : '', layout.nameColumn, 'right'),
      style: isOwn ? theme.ownName : nameStyle(message.user),
    });
    spans.push(
      isOwn ? { text: ` ${glyphs.ownBar} `, style: theme.ownBar } : { text: ` ${glyphs.bar} `, style: theme.separator },
    );
    return spans;
  };
  const prefixWidth = 1 + (layout.showTime ? 6 : 0) + layout.nameColumn + 3;
  const textColumn = Math.max(8, layout.width - prefixWidth - 1);
  const textStyle: Style = variant === 'pending' ? theme.pending : isOwn ? theme.ownText : theme.text;
  return wrap(sanitize(message.text), textColumn).map((text, index) => ({
    spans: [...prefix(index === 0), { text, style: textStyle }],
  }));
}

/** A centred "── Today ──" line where the local date changes. */
export function dayLine(time: string, width: number, now = new Date()): Line {
  const label = ` ${dayLabel(new Date(time), now)} `;
  const side = Math.max(2, Math.floor((width - textWidth(label)) / 2));
  return { spans: [{ text: glyphs.day.repeat(side) + label + glyphs.day.repeat(side), style: theme.daySeparator }] };
}

/**
 * The same line in `style` across the whole row (the selected message). The colours of the
 * spans go: names in mid tones and the terminal's default text colour are not all readable on
 * one background, and a light or dark theme decides what "default" is.
 */
export function highlight(line: Line, style: Style): Line {
  return {
    spans: line.spans.map((span) => ({ text: span.text, style: { ...style, bold: span.style?.bold } })),
    fill: style,
  };
}

export function formatTime(time: string): string {
  const date = new Date(time);
  if (Number.isNaN(date.getTime())) return '--:--';
  return `${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** The local calendar day, for grouping messages. */
export function dayKey(time: string): string {
  const date = new Date(time);
  return `${date.getFullYear()}-${date.getMonth()}-${date.getDate()}`;
}

function dayLabel(date: Date, now: Date): string {
  if (Number.isNaN(date.getTime())) return 'unknown date';
  const today = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  const day = new Date(date.getFullYear(), date.getMonth(), date.getDate());
  const daysAgo = Math.round((today.getTime() - day.getTime()) / 86_400_000);
  if (daysAgo === 0) return 'Today';
  if (daysAgo === 1) return 'Yesterday';
  const options: Intl.DateTimeFormatOptions = { weekday: 'long', day: 'numeric', month: 'long' };
  if (date.getFullYear() !== now.getFullYear()) options.year = 'numeric';
  return date.toLocaleDateString(undefined, options);
}

function pad(value: number): string {
  return String(value).padStart(2, '0');
}
