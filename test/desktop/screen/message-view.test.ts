import assert from 'node:assert/strict';
import { test } from 'node:test';
import { messageLayout, messageLines } from '../../../client/desktop/screen/message-view.js';

function text(line: { spans: { text: string }[] }): string {
  return line.spans.map((span) => span.text).join('');
}

test('the name column has one width for a screen width, whoever posts, and long names are cut', () => {
  const layout = messageLayout(80, 'me');
  assert.equal(layout.nameColumn, 12);
  assert.equal(messageLayout(40, 'me').nameColumn, 10, 'narrow screens give it a quarter of the width');
  const time = new Date(2026, 0, 1, 9, 5).toISOString();
  const short = text(messageLines({ user: 'bo', text: 'hi', time }, layout)[0]!);
  const long = text(messageLines({ user: 'bartholomew-the-great', text: 'hi', time }, layout)[0]!);
  assert.equal(short, ' 09:05           bo │ hi');
  assert.equal(long, ' 09:05 bartholomew… │ hi');
  assert.equal(short.indexOf('│'), long.indexOf('│'), 'the text starts in the same column');
});
