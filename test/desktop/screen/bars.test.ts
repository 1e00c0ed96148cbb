// The status bar and composer rows as a person reads them: the spans joined into text, cut at
// the screen width the way the painter cuts them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { composerLines, statusLine, type StatusView } from '../../../client/desktop/screen/bars.js';
import { LineEditor } from '../../../client/desktop/screen/line-editor.js';
import type { Line } from '../../../client/desktop/screen/painter.js';
import { truncate } from '../../../client/desktop/screen/text-width.js';
import { theme } from '../../../client/desktop/screen/theme.js';
import { ParleyError } from '../../../client/desktop/errors.js';

const NOW = 1_000_000;
const REFUSED = new ParleyError('UNREACHABLE', 'cannot reach localhost:8783: connection refused (is the server running?)');

/** What a terminal `width` cells wide shows of the line. */
function shown(line: Line, width = 80): string {
  return truncate(line.spans.map((span) => span.text).join(''), width).trimEnd();
}

function offline(overrides: Partial<StatusView> = {}, isRestarting = false): StatusView {
  return {
    state: { kind: 'offline', error: REFUSED, retryAt: NOW + 2_000, attempt: 3, isRestarting },
    hasBeenOnline: true,
    server: 'localhost:8783',
    queued: 0,
    notice: undefined,
    hints: 'Tab select · PgUp/PgDn scroll · Ctrl-C quit',
    now: NOW,
    ...overrides,
  };
}

test('offline without a notice, the status bar gives the reason after the countdown', () => {
  assert.equal(
    shown(statusLine(offline(), 80)),
    ' ○ offline · retrying in 2s · cannot reach localhost:8783: connection refused (…',
  );
});

test('a notice shows in full at 80 columns while offline, in place of the long reason', () => {
  const deleteRefused = offline({ notice: { kind: 'error', text: 'not deleted: you are offline' } });
  assert.equal(shown(statusLine(deleteRefused, 80)), ' ○ offline · retrying in 2s · not deleted: you are offline');
  const nameRefused = offline({
    hasBeenOnline: false,
    notice: { kind: 'error', text: 'username is 33 characters; the limit is 32' },
  });
  assert.equal(shown(statusLine(nameRefused, 80)), ' ○ offline · retrying in 2s · username is 33 characters; the limit is 32');
});

test('the queue comes after the notice, and a restart reads as one short line', () => {
  const view = offline({ queued: 2, notice: { kind: 'info', text: 'message deleted' } }, true);
  assert.equal(shown(statusLine(view, 100), 100), ' ○ server restarting · reconnecting in 2s · message deleted · 2 messages waiting to send');
  assert.equal(shown(statusLine(offline({}, true), 80)), ' ○ server restarting · reconnecting in 2s');
});

test('online, the key hints sit at the right end of the bar', () => {
  const line = statusLine({ ...offline(), state: { kind: 'online' } }, 80);
  const text = line.spans.map((span) => span.text).join('');
  assert.equal(text.length, 80);
  assert.match(text, /^ ● connected +Tab select · PgUp\/PgDn scroll · Ctrl-C quit $/);
});

test('a draft of several lines takes a row each, up to the limit, scrolled to the cursor', () => {
  const editor = new LineEditor();
  editor.insert('one\ntwo\nthree\nfour');
  const all = composerLines({ kind: 'compose', editor, isSelecting: false }, 40, 6);
  assert.deepEqual(all.lines.map((line) => shown(line, 40)), [' › one', '   two', '   three', '   four']);
  assert.deepEqual(all.cursor, { row: 3, column: 7 });
  const capped = composerLines({ kind: 'compose', editor, isSelecting: false }, 40, 2);
  assert.deepEqual(capped.lines.map((line) => shown(line, 40)), [' ↑ three', '   four'], 'an arrow says rows are hidden above');
  assert.deepEqual(capped.cursor, { row: 1, column: 7 });
  const selecting = composerLines({ kind: 'compose', editor, isSelecting: true }, 40, 6);
  assert.equal(selecting.cursor, undefined, 'no cursor in the composer while a message is selected');
});

test('the length counter counts as the server does, after NFC: "e" + U+0301 is one character', () => {
  const editor = new LineEditor();
  editor.insert('e\u0301'.repeat(3_700));
  const near = composerLines({ kind: 'compose', editor, isSelecting: false }, 80, 1).lines.at(-1)!;
  const counter = near.spans.at(-1)!;
  assert.equal(counter.text, ' 3,700/4,000 ');
  assert.equal(counter.style, theme.counter, 'not over the limit');
  editor.set('e\u0301'.repeat(4_001));
  const over = composerLines({ kind: 'compose', editor, isSelecting: false }, 80, 1).lines.at(-1)!.spans.at(-1)!;
  assert.deepEqual([over.text, over.style], [' 4,001/4,000 ', theme.counterOver]);
});
