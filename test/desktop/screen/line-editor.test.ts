import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LineEditor } from '../../../client/desktop/screen/line-editor.js';

function typed(text: string): LineEditor {
  const editor = new LineEditor();
  editor.insert(text);
  return editor;
}

test('moves and deletes by whole characters, not UTF-16 units', () => {
  const editor = typed('a👩‍👩‍👧é');
  editor.left();
  editor.backspace();
  assert.equal(editor.value, 'aé');
  editor.deleteForward();
  assert.equal(editor.value, 'a');
  assert.equal(editor.cursor, 1);
});

test('a combining mark typed after a letter joins it', () => {
  const editor = typed('e');
  editor.insert('\u0301');
  assert.equal(editor.cursor, 1);
  editor.backspace();
  assert.equal(editor.value, '');
});

test('readline keys: Home, End, Ctrl-U, Ctrl-K, Ctrl-W', () => {
  const editor = typed('send this  message');
  assert.equal(editor.applyKey('CTRL_W'), true);
  assert.equal(editor.value, 'send this  ');
  editor.applyKey('CTRL_W');
  assert.equal(editor.value, 'send ', 'Ctrl-W takes the word and the spaces after it');
  editor.insert('that');
  editor.applyKey('HOME');
  editor.applyKey('RIGHT');
  editor.applyKey('CTRL_K');
  assert.equal(editor.value, 's');
  editor.set('abc def');
  editor.applyKey('LEFT');
  editor.applyKey('LEFT');
  editor.applyKey('CTRL_U');
  assert.equal(editor.value, 'ef');
  assert.equal(editor.cursor, 0);
  assert.equal(editor.applyKey('UP'), false, 'history is the caller’s business');
});

test('Up and Down walk the history and come back to the draft', () => {
  const editor = new LineEditor();
  editor.insert('first');
  editor.take();
  editor.insert('second');
  editor.take();
  editor.insert('draft');
  editor.historyBack();
  assert.equal(editor.value, 'second');
  editor.historyBack();
  assert.equal(editor.value, 'first');
  editor.historyBack();
  assert.equal(editor.value, 'first', 'stops at the oldest');
  editor.historyForward();
  editor.historyForward();
  assert.equal(editor.value, 'draft');
});

test('a long line scrolls so the cursor stays visible', () => {
  const editor = typed('0123456789abcdef');
  assert.deepEqual(editor.view(8), { text: '9abcdef', cursorColumn: 7 });
  editor.home();
  assert.deepEqual(editor.view(8), { text: '01234567', cursorColumn: 0 });
  const wide = typed('世界世界世界');
  const view = wide.view(7);
  assert.equal(view.cursorColumn, 6);
  assert.equal(view.text, '界世界', 'the last three characters, the cursor after them');
});

test('a draft with newlines lays out one row per line, and wraps long lines after a space', () => {
  const editor = typed('first\r\nsecond is a longer line');
  assert.equal(editor.value, 'first\nsecond is a longer line', 'a pasted CRLF becomes one newline');
  const layout = editor.layout(12);
  assert.deepEqual(
    layout.rows.map((row) => row.text),
    ['first', 'second is a ', 'longer line'],
  );
  assert.deepEqual([layout.cursorRow, layout.cursorColumn], [2, 11]);
  const word = typed('abcdefghijklmnop').layout(6);
  assert.deepEqual(word.rows.map((row) => row.text), ['abcde', 'fghij', 'klmno', 'p'], 'a word longer than a row is cut');
});

test('Up and Down move between the rows of a draft, keeping the column, and stop at its edges', () => {
  const editor = typed('one two three\nfour');
  const width = 10; // rows: "one two ", "three", "four"
  assert.equal(editor.moveVertically(-1, width), true);
  assert.deepEqual(editor.layout(width).cursorColumn, 4, 'from the end of "four" to column 4 of "three"');
  assert.equal(editor.moveVertically(-1, width), true);
  editor.insert('X');
  assert.equal(editor.value, 'one Xtwo three\nfour');
  editor.set('one two three\nfour');
  editor.home();
  editor.home();
  while (editor.moveVertically(-1, width));
  assert.equal(editor.moveVertically(-1, width), false, 'the first row: Up is for history');
  assert.equal(editor.cursor, 0);
});

test('Home, End, Ctrl-U and Ctrl-K stop at a newline; Ctrl-D deletes forward', () => {
  const editor = typed('keep this\nedit this line');
  editor.applyKey('HOME');
  assert.equal(editor.cursor, 10, 'the start of the second line');
  editor.applyKey('CTRL_K');
  assert.equal(editor.value, 'keep this\n');
  editor.insert('new line');
  editor.left();
  editor.left();
  editor.applyKey('CTRL_U');
  assert.equal(editor.value, 'keep this\nne');
  editor.applyKey('CTRL_D');
  assert.equal(editor.value, 'keep this\ne');
});

test('a wide character after a row break that leaves it no room starts a row of its own, never past the width', () => {
  // Width 3 leaves 2 cells of text (the last one is the cursor's); the break is the leading space.
  const rows = typed(' a👋').layout(3).rows.map((row) => row.text);
  assert.deepEqual(rows, [' ', 'a', '👋']);
  assert.deepEqual(typed(' ab👋').layout(4).rows.map((row) => row.text), [' ', 'ab', '👋']);
});
