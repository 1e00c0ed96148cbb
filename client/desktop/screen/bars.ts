// The three fixed rows around the message list: the header (server and user), the status bar
// (connection, queue, the latest notice or key hints) and the composer row. Pure: each takes
// what it shows and returns a Line.
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

export function statusLine(view: StatusView, width: number): Line {
  const left: Span[] = [{ text: ' ', style: theme.statusBar }, ...connectionSpans(view)];
  if (view.queued > 0) {
    const what = view.queued === 1 ? '1 message' : `${view.queued} messages`;
    left.push({ text: ` · ${what} waiting to send`, style: theme.info });
  }
  // The reason for being offline comes last: it is the longest part and the first to be cut.
  if (view.state.kind === 'offline') left.push({ text: ` · ${view.state.error.message}`, style: theme.statusDim });
  if (view.notice) {
    left.push({ text: '  ', style: theme.statusBar });
    left.push({ text: sanitize(view.notice.text).replace(/\s+/g, ' '), style: view.notice.kind === 'error' ? theme.error : theme.info });
    return { spans: left, fill: theme.statusBar };
  }
  if (view.state.kind === 'offline') return { spans: left, fill: theme.statusBar };
  return spread(left, [{ text: `${view.hints} `, style: theme.statusDim }], width, theme.statusBar);
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
      return [
        { text: `${glyphs.offline} offline`, style: theme.offline },
        { text: `, retrying in ${seconds}s`, style: theme.statusBar },
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

/** The composer row and where the terminal cursor goes (undefined: hidden). */
export function composerLine(mode: ComposerMode, width: number): { line: Line; cursorColumn: number | undefined } {
  if (mode.kind === 'confirm') {
    return {
      line: { spans: [{ text: ` ${mode.question} `, style: theme.question }, { text: '(y/n)', style: theme.prompt }] },
      cursorColumn: undefined,
    };
  }
  const label = mode.kind === 'login' ? ' Your name: ' : ` ${glyphs.prompt}`;
  const labelStyle = mode.kind === 'login' ? theme.question : theme.prompt;
  const editor = mode.editor;
  const length = countCharacters(editor.value);
  const counter = length > MAX_TEXT_LENGTH * 0.9 ? ` ${length.toLocaleString('en')}/${MAX_TEXT_LENGTH.toLocaleString('en')} ` : '';
  const room = Math.max(1, width - textWidth(label) - textWidth(counter) - 1);
  const view = editor.view(room);
  const spans: Span[] = [{ text: label, style: labelStyle }];
  if (editor.isEmpty) {
    const placeholder = mode.kind === 'login' ? 'type a name and press Enter' : 'type a message, Enter to send';
    spans.push({ text: placeholder, style: theme.placeholder });
  } else {
    spans.push({ text: view.text });
  }
  const isSelecting = mode.kind === 'compose' && mode.isSelecting;
  if (counter) {
    const used = textWidth(label) + (editor.isEmpty ? 0 : textWidth(view.text));
    spans.push({ text: ' '.repeat(Math.max(1, width - used - textWidth(counter))) });
    spans.push({ text: counter, style: length > MAX_TEXT_LENGTH ? theme.counterOver : theme.counter });
  }
  return { line: { spans }, cursorColumn: isSelecting ? undefined : textWidth(label) + view.cursorColumn };
}
