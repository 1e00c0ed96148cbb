// How wide text is on a terminal, and how to cut it into lines that fit. Pure.
//
// A terminal cell holds one grapheme cluster (what a reader calls one character): "é" written
// as e + U+0301 is one cell, a CJK ideograph or an emoji takes two, and a ZWJ family emoji is
// one two-cell picture. Counting UTF-16 units or code points gets all three wrong, so
// everything here walks graphemes (Intl.Segmenter) and gives each a width:
//
//   2  East Asian Wide/Fullwidth (UAX #11), Emoji_Presentation, a pictograph + VS16, flags
//   0  a cluster of only marks and format characters (a lone combining mark, ZWJ, ZWSP)
//   1  everything else
//
// That is what wcwidth() in current glibc and the common terminals agree on. Text from the
// network also goes through sanitize() first: a control character in someone's message must
// never reach the terminal as a command (ESC would let anyone restyle or move our screen).

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

const EMOJI_PRESENTATION = /\p{Emoji_Presentation}/u;
const PICTOGRAPH_WITH_VS16 = /\p{Extended_Pictographic}\uFE0F/u;
const REGIONAL_INDICATOR_PAIR = /^\p{Regional_Indicator}{2}$/u;
const ONLY_ZERO_WIDTH = /^[\p{M}\p{Cf}]+$/u;
/** C0, DEL, C1: shown as a visible placeholder instead of being sent to the terminal. */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/gu;
/** Bidi embeddings, overrides and isolates: they could reorder the rest of the screen line. */
const BIDI_CONTROL = /[\u202a-\u202e\u2066-\u2069]/gu;
const TAB_WIDTH = 4;

/** [first, last] code points of East Asian Wide and Fullwidth blocks (EastAsianWidth.txt). */
const WIDE_RANGES: readonly (readonly [number, number])[] = [
  [0x1100, 0x115f], // Hangul Jamo initial consonants
  [0x2329, 0x232a], // angle brackets
  [0x2e80, 0x303e], // CJK radicals, Kangxi, ideographic description, CJK symbols
  [0x3041, 0x33ff], // Hiragana, Katakana, Bopomofo, Hangul compatibility, CJK compatibility
  [0x3400, 0x4dbf], // CJK extension A
  [0x4e00, 0x9fff], // CJK unified ideographs
  [0xa000, 0xa4cf], // Yi
  [0xa960, 0xa97f], // Hangul Jamo extended A
  [0xac00, 0xd7a3], // Hangul syllables
  [0xf900, 0xfaff], // CJK compatibility ideographs
  [0xfe10, 0xfe19], // vertical forms
  [0xfe30, 0xfe6f], // CJK compatibility forms, small forms
  [0xff00, 0xff60], // fullwidth forms
  [0xffe0, 0xffe6], // fullwidth signs
  [0x16fe0, 0x18aff], // ideographic symbols, Tangut
  [0x1b000, 0x1b2ff], // Kana supplement and extended
  [0x1f200, 0x1f2ff], // enclosed ideographic supplement
  [0x20000, 0x2fffd], // CJK extensions B to F
  [0x30000, 0x3fffd], // CJK extension G and beyond
];

/** Printable ASCII: one grapheme and one cell per character, no segmenter needed. */
const PLAIN = /^[\x20-\x7e]*$/;

export function graphemes(text: string): string[] {
  if (PLAIN.test(text)) return text.split('');
  return Array.from(segmenter.segment(text), (part) => part.segment);
}

export function graphemeWidth(grapheme: string): number {
  const first = grapheme.codePointAt(0);
  if (first === undefined) return 0;
  if (grapheme.length === 1 && first >= 0x20 && first < 0x300 && first !== 0x7f) return 1; // the common case, fast
  if (first < 0x20 || (first >= 0x7f && first < 0xa0)) return 0;
  if (isWide(first)) return 2;
  if (EMOJI_PRESENTATION.test(grapheme) || PICTOGRAPH_WITH_VS16.test(grapheme)) return 2;
  if (REGIONAL_INDICATOR_PAIR.test(grapheme)) return 2;
  if (ONLY_ZERO_WIDTH.test(grapheme)) return 0;
  return 1;
}

export function textWidth(text: string): number {
  if (PLAIN.test(text)) return text.length;
  let width = 0;
  for (const grapheme of graphemes(text)) width += graphemeWidth(grapheme);
  return width;
}

/** Makes network text safe to print: tabs become spaces, controls a visible U+FFFD. */
export function sanitize(text: string): string {
  return text.replace(/\r\n?/g, '\n').replace(/\t/g, ' '.repeat(TAB_WIDTH)).replace(CONTROL, '\ufffd').replace(BIDI_CONTROL, '');
}

/**
 * Pasted text made fit for the composer: line ends as "\n", tabs as spaces (a tab's width is
 * the terminal's to decide, so the cursor would drift), no other control characters, and no
 * newline at the very end (a copied line usually brings one).
 */
export function cleanPaste(text: string): string {
  return text.replace(/\r\n?/g, '\n').replace(/\t/g, ' '.repeat(TAB_WIDTH)).replace(CONTROL, '').replace(/\n+$/, '');
}

/** Cuts text to at most `width` cells, ending in "…" when something was cut. */
export function truncate(text: string, width: number): string {
  if (textWidth(text) <= width) return text;
  if (width <= 0) return '';
  let out = '';
  let used = 0;
  for (const grapheme of graphemes(text)) {
    const w = graphemeWidth(grapheme);
    if (used + w > width - 1) break;
    out += grapheme;
    used += w;
  }
  return `${out}…`;
}

/** Pads with spaces to exactly `width` cells (cutting first if it is wider). */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  const cut = truncate(text, width);
  const pad = ' '.repeat(Math.max(0, width - textWidth(cut)));
  return align === 'left' ? cut + pad : pad + cut;
}

/**
 * Wraps text into lines of at most `width` cells. A line breaks at the last opportunity that
 * fits: after a space (the space is dropped), or on either side of a wide CJK character,
 * since CJK text has no spaces and may break between any two characters. A run with no
 * opportunity (a long URL) is cut where the line is full. Explicit newlines are kept.
 */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  const limit = Math.max(2, width);
  for (const paragraph of text.split('\n')) {
    let line: string[] = [];
    let widths: number[] = [];
    let used = 0;
    /** Where the next line may start, and whether the grapheme before it (a space) goes. */
    let breakAt = -1;
    let dropsSpace = false;
    for (const grapheme of graphemes(paragraph)) {
      const w = graphemeWidth(grapheme);
      const isCjk = w === 2 && isWide(grapheme.codePointAt(0)!);
      const previousIsCjk = widths.at(-1) === 2 && isWide(line.at(-1)!.codePointAt(0)!);
      if ((isCjk || previousIsCjk) && line.length > 0 && line.at(-1) !== ' ') {
        breakAt = line.length;
        dropsSpace = false;
      }
      if (used + w > limit && line.length > 0) {
        if (grapheme === ' ') {
          // The break falls on this space: end the line here and drop it.
          lines.push(line.join(''));
          line = [];
          widths = [];
          used = 0;
          breakAt = -1;
          continue;
        }
        const cut = breakAt > 0 ? breakAt : line.length;
        lines.push(line.slice(0, dropsSpace && breakAt > 0 ? cut - 1 : cut).join(''));
        line = line.slice(cut);
        widths = widths.slice(cut);
        used = widths.reduce((sum, n) => sum + n, 0);
        breakAt = -1;
        // The word carried over may still leave no room for this grapheme (a wide one): it
        // then keeps a line of its own.
        if (used + w > limit && line.length > 0) {
          lines.push(line.join(''));
          line = [];
          widths = [];
          used = 0;
        }
      }
      line.push(grapheme);
      widths.push(w);
      used += w;
      if (grapheme === ' ') {
        breakAt = line.length;
        dropsSpace = true;
      }
    }
    lines.push(line.join(''));
  }
  return lines;
}

function isWide(codePoint: number): boolean {
  for (const [first, last] of WIDE_RANGES) {
    if (codePoint < first) return false;
    if (codePoint <= last) return true;
  }
  return false;
}
