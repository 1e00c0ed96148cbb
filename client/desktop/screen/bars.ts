// The fixed rows around the message list: the header (server and user), the status bar
// (connection, the latest notice, the queue, key hints) and the composer rows. Pure: each takes
// what it shows and returns lines.
import { MAX_TEXT_LENGTH, countCharacters } from '../../../protocol/limits.js';
import type { SessionState } from '../session.js';
import type { LineEditor } from './line-editor.js';
import type { Line, Span, Style } from './painter.js';
import { sanitize, textWidth, truncate } from './text-width.js';
import { glyphs, theme } from './theme.js';

export interface Notice {
  kind: 'error' | 'info';
  text: string;
}

/** Spans at both ends of a row, with the row's style in between. */
function spread(left: Span[], right: Span[], width: number, fill: Style): Line {
  const leftWidth = left.reduce((sum, span) => sum + textWidth(span.text), 0);
  const rightWidth = right.reduce((sum, span) => sum + textWidth(span.text), 0);
  const gap = width - leftWidth - rightWidth;
  if (gap < 1) return { spans: left, fill };
  return { spans: [...left, { text: ' '.repeat(gap), style: fill }, ...right], fill };
}

export function headerLine(server: string, username: string | undefined, width: number): Line {
  const left: Span[] = [
    { text: ' Parley ', style: theme.header },
    { text: ` ${server}`, style: theme.headerDim },
  ];
  const right: Span[] = username
    ? [{ text: `${truncate(sanitize(username), 32)} `, style: theme.header }]
    : [{ text: 'not logged in ', style: theme.headerDim }];
  return spread(left, right, width, theme.header);
}

export interface StatusView {
  state: SessionState;
  hasBeenOnline: boolean;
  server: string;
  queued: number;
  notice: Notice | undefined;
  hints: string;
  now: number;
}

/**
 * The status bar. What matters most comes first, because a narrow terminal cuts the end: the
 * connection in a few words, then the notice (the answer to what the user just did), then
 * the queue, and last, only while no notice shows, why the connection is down, which is long
 * and changes nothing the user can do.
 */
export function statusLine(view: StatusView, width: number): Line {
  const spans: Span[] = [{ text: ' ', style: theme.statusBar }, ...connectionSpans(view)];
  if (view.notice) {
    const text = sanitize(view.notice.text).replace(/\s+/g, ' ');
    spans.push({ text: ' · ', style: theme.statusDim });
    spans.push({ text, style: view.notice.kind === 'error' ? theme.error : theme.info });
  }
  if (view.queued > 0) {
    const what = view.queued === 1 ? '1 message' : `${view.queued} messages`;
    spans.push({ text: ` · ${what} waiting to send`, style: theme.info });
  }
  const { state } = view;
  if (state.kind === 'offline' || view.notice) {
    if (!view.notice && state.kind === 'offline' && !state.isRestarting) {
      spans.push({ text: ` · ${state.error.message}`, style: theme.statusDim });
    }
    return { spans, fill: theme.statusBar };
  }
  return spread(spans, [{ text: `${view.hints} `, style: theme.statusDim }], width, theme.statusBar);
}

function connectionSpans(view: StatusView): Span[] {
  const { state } = view;
  switch (state.kind) {
    case 'online':
      return [{ text: `${glyphs.online} connected`, style: theme.online }];
    case 'connecting':
      return [
        {
          text: view.hasBeenOnline ? `${glyphs.connecting} reconnecting…` : `${glyphs.connecting} connecting to ${view.server}…`,
          style: theme.connecting,
        },
      ];
    case 'offline': {
      const seconds = Math.max(1, Math.ceil((state.retryAt - view.now) / 1000));
      return state.isRestarting
        ? [
            { text: `${glyphs.offline} server restarting`, style: theme.offline },
            { text: ` · reconnecting in ${seconds}s`, style: theme.statusBar },
          ]
        : [
            { text: `${glyphs.offline} offline`, style: theme.offline },
            { text: ` · retrying in ${seconds}s`, style: theme.statusBar },
          ];
    }
    case 'closed':
      return [{ text: `${glyphs.offline} closed`, style: theme.offline }];
  }
}

export type ComposerMode =
  | { kind: 'login'; editor: LineEditor }
  | { kind: 'compose'; editor: LineEditor; isSelecting: boolean }
  | { kind: 'confirm'; question: string };

export interface ComposerView {
  lines: Line[];
  /** Where the terminal cursor goes, relative to the first composer row; undefined: hidden. */
  cursor: { row: number; column: number } | undefined;
}

const DRAFT_LABEL = ` ${glyphs.prompt}`;

/** The draft's length as the server counts it: code points after NFC ("e" + U+0301 is one, é). */
function draftLength(editor: LineEditor): number {
  return countCharacters(editor.value.normalize('NFC'));
}

function counterText(editor: LineEditor): string {
  const length = draftLength(editor);
  return length > MAX_TEXT_LENGTH * 0.9 ? ` ${length.toLocaleString('en')}/${MAX_TEXT_LENGTH.toLocaleString('en')} ` : '';
}

/** Cells a row of the draft may use: the screen less the label and the length counter. */
export function draftWidth(width: number, editor: LineEditor): number {
  return Math.max(2, width - textWidth(DRAFT_LABEL) - textWidth(counterText(editor)));
}

/**
 * The composer rows: one for the name prompt and questions; for a draft, one per row of text,
 * up to `maxRows`, scrolled so that the cursor's row shows.
 */
export function composerLines(mode: ComposerMode, width: number, maxRows: number): ComposerView {
  if (mode.kind === 'confirm') {
    return {
      lines: [{ spans: [{ text: ` ${mode.question} `, style: theme.question }, { text: '(y/n)', style: theme.prompt }] }],
      cursor: undefined,
    };
  }
  const editor = mode.editor;
  const isLogin = mode.kind === 'login';
  const label = isLogin ? ' Your name: ' : DRAFT_LABEL;
  const labelStyle = isLogin ? theme.question : theme.prompt;
  const labelWidth = textWidth(label);
  const hidesCursor = mode.kind === 'compose' && mode.isSelecting;
  if (editor.isEmpty) {
    const placeholder = isLogin ? 'type a name and press Enter' : 'type a message, Enter to send, Alt-Enter for a new line';
    return {
      lines: [{ spans: [{ text: label, style: labelStyle }, { text: placeholder, style: theme.placeholder }] }],
      cursor: hidesCursor ? undefined : { row: 0, column: labelWidth },
    };
  }
  if (isLogin) {
    const view = editor.view(Math.max(1, width - labelWidth - 1));
    return {
      lines: [{ spans: [{ text: label, style: labelStyle }, { text: view.text.replace(/\n/g, ' ') }] }],
      cursor: { row: 0, column: labelWidth + view.cursorColumn },
    };
  }
  const counter = counterText(editor);
  const layout = editor.layout(draftWidth(width, editor));
  const shown = Math.max(1, Math.min(maxRows, layout.rows.length));
  const first = Math.min(Math.max(0, layout.cursorRow - shown + 1), layout.rows.length - shown);
  const lines: Line[] = layout.rows.slice(first, first + shown).map((row, index) => {
    const isTop = first + index === 0;
    // The label's place on rows below the first: blank, or an arrow when rows above are hidden.
    const lead = isTop ? label : index === 0 ? ` ${glyphs.moreAbove} `.padEnd(labelWidth) : ' '.repeat(labelWidth);
    return { spans: [{ text: lead, style: labelStyle }, { text: sanitize(row.text) }] };
  });
  if (counter) {
    const last = lines.at(-1)!;
    const used = last.spans.reduce((sum, span) => sum + textWidth(span.text), 0);
    last.spans.push({ text: ' '.repeat(Math.max(1, width - used - textWidth(counter))) });
    const isOver = draftLength(editor) > MAX_TEXT_LENGTH;
    last.spans.push({ text: counter, style: isOver ? theme.counterOver : theme.counter });
  }
  return {
    lines,
    cursor: hidesCursor ? undefined : { row: layout.cursorRow - first, column: labelWidth + layout.cursorColumn },
  };
}
