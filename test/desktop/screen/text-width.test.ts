import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fit, graphemeWidth, graphemes, sanitize, textWidth, truncate, wrap } from '../../../client/desktop/screen/text-width.js';

test('measures cells the way a terminal draws them', () => {
  const cases: [string, number][] = [
    ['hello', 5],
    ['世界', 4], // CJK: two cells each
    ['ｈｉ', 4], // fullwidth Latin
    ['한국어', 6],
    ['e\u0301', 1], // e + combining acute: one cell
    ['👋', 2],
    ['👋🏽', 2], // with a skin tone modifier
    ['👩‍👩‍👧', 2], // a ZWJ family is one picture
    ['🇫🇷', 2], // a flag: two regional indicators
    ['❤️', 2], // a text pictograph made emoji by VS16
    ['\u200b', 0], // zero width space
    ['', 0],
  ];
  for (const [text, width] of cases) assert.equal(textWidth(text), width, JSON.stringify(text));
  assert.deepEqual(graphemes('é👩‍👩‍👧x'), ['é', '👩‍👩‍👧', 'x']);
  assert.equal(graphemeWidth('\u0007'), 0);
});

test('sanitize turns control characters from the network into visible ones', () => {
  assert.equal(sanitize('red \x1b[31malert\x1b[0m'), 'red \ufffd[31malert\ufffd[0m');
  assert.equal(sanitize('a\tb'), 'a    b');
  assert.equal(sanitize('line\r\nnext'), 'line\nnext');
  assert.equal(sanitize('abc\u202edef'), 'abcdef', 'bidi overrides are dropped');
  assert.equal(sanitize('\u0085\u009b'), '\ufffd\ufffd', 'C1 controls too');
});

test('truncate and fit count cells and never split a wide character', () => {
  assert.equal(truncate('hello world', 8), 'hello w…');
  assert.equal(truncate('世界世界', 5), '世界…');
  assert.equal(truncate('short', 10), 'short');
  assert.equal(fit('bob', 6, 'right'), '   bob');
  assert.equal(fit('世界', 5), '世界 ');
  assert.equal(fit('alexandria', 6), 'alexa…');
});

test('wraps at the last space that fits and drops that space', () => {
  assert.deepEqual(wrap('hello world this is a test', 11), ['hello world', 'this is a', 'test']);
  assert.deepEqual(wrap('one\n\ntwo', 10), ['one', '', 'two'], 'explicit newlines are kept');
});

test('cuts a word longer than the line where the line is full', () => {
  assert.deepEqual(wrap('https://example.com/a/very/long/path ok', 12), ['https://exam', 'ple.com/a/ve', 'ry/long/path', 'ok']);
});

test('breaks CJK text between any two characters and keeps lines within the width', () => {
  const lines = wrap(`from the web: ${'漢字'.repeat(10)} 👋 done`, 20);
  assert.deepEqual(lines, ['from the web: 漢字漢', '字漢字漢字漢字漢字漢', '字漢字漢字漢字 👋', 'done']);
  for (const line of lines) assert.ok(textWidth(line) <= 20);
  assert.deepEqual(wrap('世界世界世', 3), ['世', '界', '世', '界', '世'], 'a wide character never straddles the edge');
});

test('keeps combining marks and emoji sequences whole across a break', () => {
  assert.deepEqual(wrap('e\u0301e\u0301e\u0301e\u0301', 3), ['e\u0301e\u0301e\u0301', 'e\u0301']);
  assert.deepEqual(wrap('ab👩‍👩‍👧cd', 3), ['ab', '👩‍👩‍👧c', 'd']);
});

test('a wide character after a break that leaves it no room goes to a line of its own, never past the width', () => {
  // The break is the leading space; what it carries over fills the line but one cell.
  assert.deepEqual(wrap(' a👋', 2), ['', 'a', '👋']);
  assert.deepEqual(wrap(' ab👋 c', 3), ['', 'ab', '👋', 'c']);
  for (const line of [...wrap(' a👋', 2), ...wrap(' ab👋 c', 3)]) assert.ok(textWidth(line) <= 3, `"${line}" fits`);
});
