// Colours and glyphs, in one place. Indexes into the xterm 256-colour palette, chosen to read
// on dark and light backgrounds alike: text keeps the terminal's own foreground; names, bars and
// marks use mid-tone colours (neither pale nor dark, so neither vanishes on white nor on black);
// and wherever we paint a background (header, status bar, selection) we set the text colour
// too, because the terminal's default text colour is dark on a light theme.
import type { Style } from './painter.js';

export const theme = {
  header: { fg: 255, bg: 24, bold: true } satisfies Style,
  headerDim: { fg: 153, bg: 24 } satisfies Style,
  statusBar: { fg: 252, bg: 237 } satisfies Style,
  statusDim: { fg: 246, bg: 237 } satisfies Style,
  online: { fg: 78, bg: 237, bold: true } satisfies Style,
  connecting: { fg: 214, bg: 237, bold: true } satisfies Style,
  offline: { fg: 203, bg: 237, bold: true } satisfies Style,
  error: { fg: 210, bg: 237, bold: true } satisfies Style,
  info: { fg: 229, bg: 237 } satisfies Style,
  time: { fg: 244 } satisfies Style,
  separator: { fg: 244 } satisfies Style,
  daySeparator: { fg: 244 } satisfies Style,
  ownName: { fg: 172, bold: true } satisfies Style,
  ownBar: { fg: 172 } satisfies Style,
  ownText: {} satisfies Style,
  text: {} satisfies Style,
  pending: { fg: 244, italic: true } satisfies Style,
  /** The selected message: its own background, unlike the header's, and light text on it. */
  selected: { fg: 231, bg: 31 } satisfies Style,
  prompt: { fg: 33, bold: true } satisfies Style,
  question: { fg: 172, bold: true } satisfies Style,
  placeholder: { fg: 244, italic: true } satisfies Style,
  counterOver: { fg: 160, bold: true } satisfies Style,
  counter: { fg: 244 } satisfies Style,
  empty: { fg: 244, italic: true } satisfies Style,
  scrollMark: { fg: 136 } satisfies Style,
  /** Other people's names: a stable colour per name, so a speaker is easy to follow. None is
   *  close to the own name's orange (172). */
  names: [33, 36, 161, 134, 71, 98, 67, 62, 169] as const,
};

export const glyphs = {
  bar: '│',
  ownBar: '┃',
  online: '●',
  offline: '○',
  connecting: '◌',
  prompt: '› ',
  moreAbove: '↑',
  day: '─',
};

export function nameStyle(name: string): Style {
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.codePointAt(0)!) >>> 0;
  return { fg: theme.names[hash % theme.names.length]!, bold: true };
}
