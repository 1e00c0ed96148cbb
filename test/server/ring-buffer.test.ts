import test from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { RingBuffer, type Change, type NewMessage } from '../../server/ring-buffer.js';

function message(text: string, user = 'ann', clientId: string | null = null): NewMessage {
  return { user, text, timeMs: 1_700_000_000_000, clientId };
}

function appendAndPublish(ring: RingBuffer, texts: string[], user = 'ann'): number[] {
  const seqs = ring.appendMessages(texts.map((text) => message(text, user)));
  ring.publish(ring.head);
  return seqs;
}

test('an empty ring has head 0, oldest 1 and nothing to read', () => {
  const ring = RingBuffer.create({ capacity: 8, arenaBytes: 256 });
  assert.equal(ring.head, 0);
  assert.equal(ring.oldest, 1);
  assert.equal(ring.published, 0);
  assert.deepEqual(ring.readChanges(0, 10), { changes: [], last: 0, missed: false });
  assert.deepEqual(ring.readHistory(undefined, 10), []);
  assert.equal(ring.readMessage(1), undefined);
  assert.deepEqual(ring.stats(), { used: 0, capacity: 8, arenaUsedBytes: 0, arenaBytes: 256, head: 0, oldest: 1, published: 0 });
});

test('appended messages get strictly increasing ids and read back whole', () => {
  const ring = RingBuffer.create({ capacity: 16, arenaBytes: 1024 });
  assert.deepEqual(ring.appendMessages([message('one'), message('two', 'bob', 'c-2')]), [1, 2]);
  assert.deepEqual(ring.appendMessages([message('three')]), [3]);
  ring.publish(3);
  const { changes, last, missed } = ring.readChanges(0, 10);
  assert.equal(last, 3);
  assert.equal(missed, false);
  assert.deepEqual(changes, [
    { kind: 'message', seq: 1, user: 'ann', text: 'one', timeMs: 1_700_000_000_000, clientId: null, deletedAt: 0 },
    { kind: 'message', seq: 2, user: 'bob', text: 'two', timeMs: 1_700_000_000_000, clientId: 'c-2', deletedAt: 0 },
    { kind: 'message', seq: 3, user: 'ann', text: 'three', timeMs: 1_700_000_000_000, clientId: null, deletedAt: 0 },
  ]);
  assert.deepEqual(ring.readMessage(2), changes[1]);
  assert.equal(ring.stats().used, 3);
});

test('readChanges pages by cursor and limit', () => {
  const ring = RingBuffer.create({ capacity: 16, arenaBytes: 1024 });
  appendAndPublish(ring, ['a', 'b', 'c', 'd', 'e']);
  const first = ring.readChanges(0, 2);
  assert.deepEqual(first.changes.map((c) => c.seq), [1, 2]);
  assert.equal(first.last, 2);
  const second = ring.readChanges(first.last, 2);
  assert.deepEqual(second.changes.map((c) => c.seq), [3, 4]);
  const third = ring.readChanges(second.last, 2);
  assert.deepEqual(third.changes.map((c) => c.seq), [5]);
  assert.deepEqual(ring.readChanges(third.last, 2), { changes: [], last: 5, missed: false });
  assert.deepEqual(ring.readChanges(99, 2), { changes: [], last: 5, missed: false }, 'a cursor beyond the head is clamped');
});

test('changes above published are invisible until publish()', () => {
  const ring = RingBuffer.create({ capacity: 16, arenaBytes: 1024 });
  ring.appendMessages([message('a'), message('b')]);
  assert.equal(ring.head, 2);
  assert.deepEqual(ring.readChanges(0, 10), { changes: [], last: 0, missed: false });
  assert.equal(ring.readMessage(1), undefined);
  assert.deepEqual(ring.readHistory(undefined, 10), []);
  ring.publish(1);
  assert.deepEqual(ring.readChanges(0, 10).changes.map((c) => c.seq), [1]);
  assert.deepEqual(ring.readChanges(0, 10, 2).changes.map((c) => c.seq), [1, 2], 'an explicit upTo reads past published');
  ring.publish(2);
  ring.publish(1);
  assert.equal(ring.published, 2, 'publish never moves backwards');
  assert.deepEqual(ring.readChanges(0, 10, 50).changes.map((c) => c.seq), [1, 2], 'upTo is clamped to the head');
});

test('a deletion is a change of its own and marks the message', () => {
  const ring = RingBuffer.create({ capacity: 16, arenaBytes: 1024 });
  appendAndPublish(ring, ['keep', 'drop']);
  assert.deepEqual(ring.deleteMessage(2, 'ann', 42), { result: 'deleted', seq: 3 });

  const before = ring.readChanges(0, 10);
  assert.deepEqual(before.changes.map((c) => c.seq), [1, 2], 'unpublished deletion is not visible');
  assert.equal((before.changes[1] as Change & { kind: 'message' }).deletedAt, 0);
  assert.equal(ring.readHistory(undefined, 10).length, 2);

  ring.publish(3);
  const after = ring.readChanges(0, 10);
  assert.deepEqual(after.changes[2], { kind: 'delete', seq: 3, messageId: 2, timeMs: 42 });
  assert.equal((after.changes[1] as Change & { kind: 'message' }).deletedAt, 3);
  assert.deepEqual(ring.readChanges(2, 10).changes, [{ kind: 'delete', seq: 3, messageId: 2, timeMs: 42 }]);
  assert.deepEqual(ring.readHistory(undefined, 10).map((c) => c.text), ['keep']);
  assert.equal(ring.readMessage(2)?.deletedAt, 3);
  assert.equal(ring.readMessage(2, 2)?.deletedAt, 0, 'as of seq 2 it was not deleted yet');
});

test('deleting another user\'s message is forbidden; a missing or deleted one is not found', () => {
  const ring = RingBuffer.create({ capacity: 16, arenaBytes: 1024 });
  appendAndPublish(ring, ['mine']);
  assert.deepEqual(ring.deleteMessage(1, 'bob', 0), { result: 'forbidden' });
  assert.deepEqual(ring.deleteMessage(1, 'an', 0), { result: 'forbidden' }, 'a prefix of the author is someone else');
  assert.deepEqual(ring.deleteMessage(1, 'annie', 0), { result: 'forbidden' });
  assert.deepEqual(ring.deleteMessage(2, 'ann', 0), { result: 'not-found' });
  assert.deepEqual(ring.deleteMessage(0, 'ann', 0), { result: 'not-found' });
  assert.deepEqual(ring.deleteMessage(1.5, 'ann', 0), { result: 'not-found' });
  assert.deepEqual(ring.deleteMessage(1, 'ann', 0), { result: 'deleted', seq: 2 });
  assert.deepEqual(ring.deleteMessage(1, 'ann', 0), { result: 'not-found' }, 'already deleted, though unpublished');
  assert.deepEqual(ring.deleteMessage(2, 'ann', 0), { result: 'not-found' }, 'a delete change is not a message');
  assert.equal(ring.head, 2, 'refused deletes write nothing');
});

test('restore() keeps each change\'s own seq, allows gaps, and applies deletions', () => {
  const ring = RingBuffer.create({ capacity: 16, arenaBytes: 1024 });
  ring.restore({ kind: 'message', seq: 3, user: 'ann', text: 'three', timeMs: 3, clientId: 'x', deletedAt: 0 });
  assert.equal(ring.oldest, 3);
  ring.restore({ kind: 'message', seq: 7, user: 'bob', text: 'seven', timeMs: 7, clientId: null, deletedAt: 0 });
  ring.restore({ kind: 'delete', seq: 9, messageId: 3, timeMs: 9 });
  assert.throws(() => ring.restore({ kind: 'delete', seq: 9, messageId: 7, timeMs: 9 }), RangeError);
  assert.throws(() => ring.restore({ kind: 'delete', seq: 4, messageId: 7, timeMs: 9 }), RangeError);
  ring.publish(ring.head);
  assert.equal(ring.head, 9);
  const { changes, last } = ring.readChanges(0, 10);
  assert.deepEqual(changes.map((c) => c.seq), [3, 7, 9]);
  assert.equal(last, 9);
  assert.equal((changes[0] as Change & { kind: 'message' }).deletedAt, 9);
  assert.deepEqual(ring.readChanges(3, 1).changes.map((c) => c.seq), [7], 'gaps are skipped');
  assert.deepEqual(ring.readHistory(undefined, 10).map((c) => c.seq), [7]);
  assert.deepEqual(ring.appendMessages([message('next')]), [10], 'new ids continue after the restored head');
  assert.deepEqual(ring.deleteMessage(3, 'ann', 0), { result: 'not-found' });
});

test('when the slots run out the oldest changes are evicted and a stale cursor is told it missed some', () => {
  const ring = RingBuffer.create({ capacity: 4, arenaBytes: 4096 });
  appendAndPublish(ring, ['1', '2', '3', '4', '5', '6']);
  assert.equal(ring.oldest, 3);
  assert.equal(ring.stats().used, 4);
  assert.equal(ring.readMessage(2), undefined);
  assert.equal(ring.readMessage(6)?.text, '6');
  assert.deepEqual(ring.deleteMessage(1, 'ann', 0), { result: 'not-found' });
  const stale = ring.readChanges(0, 10);
  assert.equal(stale.missed, true);
  assert.deepEqual(stale.changes.map((c) => c.seq), [3, 4, 5, 6]);
  assert.equal(ring.readChanges(1, 10).missed, true);
  assert.equal(ring.readChanges(2, 10).missed, false, 'cursor 2 continues exactly at the oldest, 3');
  assert.deepEqual(ring.readHistory(undefined, 10).map((c) => c.seq), [3, 4, 5, 6]);
});

test('when the arena runs out the oldest changes are evicted even with free slots', () => {
  // Each record is 'ann' + 10 bytes = 13 bytes; 40 bytes hold three at most.
  const ring = RingBuffer.create({ capacity: 64, arenaBytes: 40 });
  const seqs = appendAndPublish(ring, Array.from({ length: 10 }, (_, i) => `message-${i}`.padEnd(10, '.')));
  assert.deepEqual(seqs, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const stats = ring.stats();
  assert.ok(stats.used <= 3 && stats.used >= 2, `used ${stats.used}`);
  assert.ok(stats.arenaUsedBytes <= 40, `arena used ${stats.arenaUsedBytes}`);
  assert.equal(ring.oldest, 10 - stats.used + 1);
  const { changes, missed } = ring.readChanges(0, 100);
  assert.equal(missed, true);
  assert.deepEqual(changes.map((c) => (c as Change & { kind: 'message' }).text), seqs.slice(-stats.used).map((s) => `message-${s - 1}`.padEnd(10, '.')));
});

test('with keepUnpublished, a write stops rather than evict a change that is not published yet', () => {
  const ring = RingBuffer.create({ capacity: 4, arenaBytes: 4096 });
  const keep = { keepUnpublished: true };
  appendAndPublish(ring, ['1', '2']);
  assert.deepEqual(ring.appendMessages([message('3'), message('4'), message('5'), message('6'), message('7')], keep), [3, 4, 5, 6],
    'published 1 and 2 make room; unpublished 3 must stay');
  assert.equal(ring.oldest, 3);
  assert.deepEqual(ring.appendMessages([message('7')], keep), []);
  assert.deepEqual(ring.deleteMessage(2, 'ann', 0, keep), { result: 'not-found' }, 'evicted already');
  assert.deepEqual(ring.deleteMessage(3, 'ann', 0, keep), { result: 'no-room' });
  assert.equal(ring.readMessage(3, ring.head)?.deletedAt, 0, 'a refused delete marks nothing');
  ring.publish(4);
  assert.deepEqual(ring.appendMessages([message('7'), message('8'), message('9')], keep), [7, 8]);
  assert.deepEqual(ring.readChanges(4, 10, ring.head).changes.map((c) => c.seq), [5, 6, 7, 8], 'nothing unpublished was lost');

  // The arena: 3 + 10 bytes a record, 40 bytes hold three.
  const small = RingBuffer.create({ capacity: 64, arenaBytes: 40 });
  const texts = Array.from({ length: 5 }, (_, i) => `message-${i}`.padEnd(10, '.'));
  assert.equal(small.appendMessages(texts.map((text) => message(text)), keep).length, 3);
  small.publish(small.head);
  assert.equal(small.appendMessages(texts.map((text) => message(text)), keep).length, 3);
  assert.equal(small.readChanges(0, 10, small.head).changes.length, 3);
});

test('a message larger than the whole arena is a RangeError and writes nothing', () => {
  const ring = RingBuffer.create({ capacity: 8, arenaBytes: 32 });
  assert.throws(() => ring.appendMessages([message('fits'), message('x'.repeat(40))]), {
    name: 'RangeError',
    message: /does not fit the ring's 32-byte arena/,
  });
  assert.equal(ring.head, 0, 'the batch is all or nothing');
  assert.deepEqual(ring.appendMessages([message('x'.repeat(29))]), [1], 'exactly the arena size fits');
});

test('options out of range are refused with the allowed range', () => {
  assert.throws(() => RingBuffer.create({ capacity: 0 }), /capacity is 0; it must be a whole number of slots from 1/);
  assert.throws(() => RingBuffer.create({ arenaBytes: 1.5 }), /arenaBytes is 1.5/);
  assert.throws(() => RingBuffer.attach(new SharedArrayBuffer(1024)), TypeError);
});

test('readHistory returns the newest messages before an id, oldest first, without deleted ones', () => {
  const ring = RingBuffer.create({ capacity: 64, arenaBytes: 4096 });
  appendAndPublish(ring, Array.from({ length: 10 }, (_, i) => `m${i + 1}`));
  ring.deleteMessage(9, 'ann', 0);
  ring.publish(ring.head);
  assert.deepEqual(ring.readHistory(undefined, 3).map((c) => c.seq), [7, 8, 10]);
  assert.deepEqual(ring.readHistory(7, 3).map((c) => c.seq), [4, 5, 6]);
  assert.deepEqual(ring.readHistory(4, 10).map((c) => c.seq), [1, 2, 3]);
  assert.deepEqual(ring.readHistory(1, 10), []);
  assert.deepEqual(ring.readHistory(undefined, 3, 10).map((c) => c.seq), [8, 9, 10], 'as of 10 the deletion (11) is not seen yet');
  assert.deepEqual(ring.readHistory(undefined, 3, 11).map((c) => c.seq), [7, 8, 10]);
  assert.deepEqual(ring.readHistory(undefined, 0), []);
});

test('UTF-8 text round-trips: emoji, CJK, combining marks, and a wrap at the arena end', () => {
  const texts = ['👩‍👩‍👧‍👦 family 🇳🇴', '漢字かなカナ한국어', 'e\u0301 a\u0308 Z\u0335\u0321', '\u{10FFFF}\u0000nul', ''];
  const ring = RingBuffer.create({ capacity: 8, arenaBytes: 100 });
  for (let round = 0; round < 5; round++) {
    for (const text of texts) {
      const [seq] = ring.appendMessages([message(text, 'ユーザー', 'ключ-🔑')]);
      ring.publish(seq!);
      const read = ring.readMessage(seq!);
      assert.equal(read?.text, text);
      assert.equal(read?.user, 'ユーザー');
      assert.equal(read?.clientId, 'ключ-🔑');
    }
  }
  // Lone surrogates cannot be UTF-8; like every TextEncoder they become U+FFFD.
  const [seq] = appendAndPublish(ring, ['bad \uD800 half']);
  assert.equal(ring.readMessage(seq!)?.text, 'bad \uFFFD half');
});

test('a worker thread attached to the same buffer sees and adds to the same ring', async () => {
  const ring = RingBuffer.create({ capacity: 32, arenaBytes: 4096 });
  appendAndPublish(ring, ['from main']);
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.module).then(({ RingBuffer }) => {
      const ring = RingBuffer.attach(workerData.buffer);
      const seen = ring.readChanges(0, 10).changes.map((c) => c.text);
      const [seq] = ring.appendMessages([{ user: 'worker', text: 'from worker', timeMs: 5, clientId: 'w' }]);
      ring.publish(seq);
      parentPort.postMessage({ seen, seq });
    });`;
  const worker = new Worker(source, {
    eval: true,
    workerData: { buffer: ring.buffer, module: new URL('../../server/ring-buffer.js', import.meta.url).href },
  });
  const [reply] = (await once(worker, 'message')) as [{ seen: string[]; seq: number }];
  await worker.terminate();
  assert.deepEqual(reply, { seen: ['from main'], seq: 2 });
  assert.equal(ring.published, 2);
  assert.deepEqual(ring.readMessage(2), { kind: 'message', seq: 2, user: 'worker', text: 'from worker', timeMs: 5, clientId: 'w', deletedAt: 0 });
});

test('waitForPublishedAsync resolves when another thread publishes', async () => {
  const ring = RingBuffer.create({ capacity: 8, arenaBytes: 256 });
  assert.equal(await ring.waitForPublishedAsync(5, 1000), 'not-equal');
  assert.equal(await ring.waitForPublishedAsync(0, 1), 'timed-out');
  const waiting = ring.waitForPublishedAsync(0, 10_000);
  const worker = new Worker(
    `const { workerData } = require('node:worker_threads');
     import(workerData.module).then(({ RingBuffer }) => {
       const ring = RingBuffer.attach(workerData.buffer);
       ring.publish(ring.appendMessages([{ user: 'w', text: 'hi', timeMs: 0, clientId: null }])[0]);
     });`,
    { eval: true, workerData: { buffer: ring.buffer, module: new URL('../../server/ring-buffer.js', import.meta.url).href } },
  );
  const exited = once(worker, 'exit');
  assert.equal(await waiting, 'ok');
  await exited;
  assert.equal(ring.readMessage(1)?.text, 'hi');
});
