import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PasteSplitter, type InputPart } from '../../../client/desktop/screen/paste-input.js';

/** The parts as readable values: key bytes as a string. */
function parts(list: InputPart[]): (string | { paste: string })[] {
  return list.map((part) => (part.kind === 'keys' ? part.bytes.toString('utf8') : { paste: part.text }));
}

function feed(...chunks: string[]): (string | { paste: string })[] {
  const splitter = new PasteSplitter();
  return chunks.flatMap((chunk) => parts(splitter.push(Buffer.from(chunk, 'utf8'))));
}

test('keys pass through untouched, a lone Escape included', () => {
  assert.deepEqual(feed('abc'), ['abc']);
  assert.deepEqual(feed('\x1b'), ['\x1b']);
  assert.deepEqual(feed('\x1b[A'), ['\x1b[A']);
});

test('a bracketed paste comes out as one text, newlines kept, with the keys around it', () => {
  assert.deepEqual(feed('x\x1b[200~line one\r\nline two 漢字\x1b[201~\r'), ['x', { paste: 'line one\r\nline two 漢字' }, '\r']);
});

test('markers and text split across two reads anywhere, except right after a lone ESC', () => {
  const whole = Buffer.from('k\x1b[200~first\nsecond 👋\x1b[201~z', 'utf8');
  const escape = whole.indexOf(0x1b);
  for (let cut = 1; cut < whole.length; cut++) {
    // A read ending in a lone ESC is the Escape key; waiting for more would delay that key.
    if (cut === escape + 1) continue;
    const splitter = new PasteSplitter();
    const out = parts([...splitter.push(whole.subarray(0, cut)), ...splitter.push(whole.subarray(cut))]);
    const keys = out.filter((part) => typeof part === 'string').join('');
    assert.equal(keys, 'kz', `cut at ${cut}`);
    assert.deepEqual(out.filter((part) => typeof part !== 'string'), [{ paste: 'first\nsecond 👋' }], `cut at ${cut}`);
  }
});

test('a long paste arrives in many reads, the end marker one byte at a time', () => {
  const splitter = new PasteSplitter();
  const out: InputPart[] = [];
  out.push(...splitter.push(Buffer.from('\x1b[200~')));
  for (let i = 0; i < 100; i++) out.push(...splitter.push(Buffer.from(`line ${i}\n`)));
  for (const byte of Buffer.from('\x1b[201~')) out.push(...splitter.push(Buffer.from([byte])));
  assert.equal(out.length, 1);
  assert.equal(out[0]!.kind === 'paste' && out[0]!.text.split('\n').length, 101);
});

test('an empty paste and two pastes in one read', () => {
  assert.deepEqual(feed('\x1b[200~\x1b[201~\x1b[200~a\x1b[201~\x1b[200~b\x1b[201~'), [{ paste: '' }, { paste: 'a' }, { paste: 'b' }]);
});
