import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Row } from '../../../client/desktop/screen/message-list.js';
import { layoutViewport, revealScroll } from '../../../client/desktop/screen/viewport.js';

/** Rows for messages with the given numbers of lines; ids count from 1. */
function rows(...heights: number[]): Row[] {
  return heights.flatMap((height, index) =>
    Array.from({ length: height }, (_, line) => ({ line: { spans: [{ text: `m${index + 1}.${line}` }] }, messageId: index + 1 })),
  );
}

const base = { width: 40, selectedId: undefined, unseen: 0, emptyText: 'empty' };

test('few messages sit at the bottom, next to the composer', () => {
  const view = layoutViewport({ ...base, rows: rows(1, 2), height: 5, scroll: 0 });
  assert.deepEqual(view.ids, [undefined, undefined, 1, 2, 2]);
  assert.equal(view.isAtTop, true);
});

test('scroll counts rows up from the newest and is clamped to the content', () => {
  const all = rows(1, 1, 1, 1, 1, 1, 1, 1);
  assert.deepEqual(layoutViewport({ ...base, rows: all, height: 3, scroll: 0 }).ids, [6, 7, 8]);
  const back = layoutViewport({ ...base, rows: all, height: 3, scroll: 2 });
  assert.deepEqual(back.ids.slice(0, 2), [4, 5]);
  assert.equal(back.ids[2], undefined, 'the last line marks that there is more below');
  assert.match(back.lines[2]!.spans.map((span) => span.text).join(''), /↓ more below/);
  assert.equal(layoutViewport({ ...base, rows: all, height: 3, scroll: 99 }).scroll, 5);
});

test('the mark counts new messages that came while scrolled back', () => {
  const view = layoutViewport({ ...base, rows: rows(1, 1, 1, 1), height: 2, scroll: 1, unseen: 3 });
  assert.match(view.lines[1]!.spans.map((span) => span.text).join(''), /↓ 3 new messages/);
});

test('revealScroll moves just enough to show the whole selected message', () => {
  const all = rows(1, 3, 1, 1, 1, 1); // message 2 has three lines: rows 1-3
  assert.equal(revealScroll(all, 6, 3, 0), 0, 'already visible');
  assert.equal(revealScroll(all, 2, 3, 0), 4, 'scrolls up until its first line is the top line');
  assert.equal(revealScroll(all, 5, 3, 5), 2, 'scrolls down, keeping it above the "more below" mark');
  assert.equal(revealScroll(all, 99, 3, 1), 1, 'an unknown id changes nothing');
});

test('revealScroll brings the day line above the first message of a day along (Home)', () => {
  const dayLine = { line: { spans: [{ text: '── Today ──' }] } };
  const all = [dayLine, ...rows(1, 1, 1, 1, 1, 1)];
  // Rows: day line, m1..m6. Height 3 at the newest: m4..m6 on screen.
  assert.equal(revealScroll(all, 1, 3, 0), 4, 'the day line is the top row, m1 under it');
  assert.equal(layoutViewport({ ...base, rows: all, height: 3, scroll: 4 }).lines[0]!.spans[0]!.text, '── Today ──');
});
