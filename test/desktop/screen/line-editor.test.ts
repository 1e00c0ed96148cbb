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
