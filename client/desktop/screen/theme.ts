// Colours and glyphs, in one place. Indexes into the xterm 256-colour palette, chosen to read
// well on dark and light backgrounds alike: text keeps the terminal's own foreground, and only
// names, bars and marks are coloured.
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
  separator: { fg: 239 } satisfies Style,
  daySeparator: { fg: 244 } satisfies Style,
  ownName: { fg: 221, bold: true } satisfies Style,
  ownBar: { fg: 221 } satisfies Style,
  ownText: { bold: false } satisfies Style,
  text: {} satisfies Style,
  pending: { fg: 244, italic: true } satisfies Style,
  selected: 24,
  prompt: { fg: 75, bold: true } satisfies Style,
  question: { fg: 229, bold: true } satisfies Style,
  placeholder: { fg: 242, italic: true } satisfies Style,
  counterOver: { fg: 210, bold: true } satisfies Style,
  counter: { fg: 244 } satisfies Style,
  empty: { fg: 242, italic: true } satisfies Style,
  scrollMark: { fg: 179 } satisfies Style,
  /** Other people's names: a stable colour per name, so a speaker is easy to follow. */
  names: [110, 150, 174, 180, 139, 116, 186, 146, 179, 109] as const,
};

export const glyphs = {
  bar: '│',
  ownBar: '┃',
  online: '●',
  offline: '○',
  connecting: '◌',
  prompt: '› ',
  day: '─',
};

export function nameStyle(name: string): Style {
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.codePointAt(0)!) >>> 0;
  return { fg: theme.names[hash % theme.names.length]!, bold: true };
}
