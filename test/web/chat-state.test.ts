// The web client's state rules, without a browser: ordering, duplicates from the three ways a
// message can arrive, the outbox (sending, failed, retried), deletions and "new" counting.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { ChatMessage } from '../../protocol/message.js';
import { importClientModule } from './helpers/client-module.js';

type ChatStateModule = typeof import('../../client/web/chat-state.js');
let chat: ChatStateModule;
before(async () => {
  chat = await importClientModule<ChatStateModule>('chat-state.ts');
});

const at = (id: number, user = 'bob', text = `message ${id}`): ChatMessage => ({
  id,
  user,
  text,
  time: new Date(Date.UTC(2026, 10, 23, 20, 0, id)).toISOString(),
});

function run(...actions: Parameters<ChatStateModule['reduce']>[1][]) {
  return actions.reduce(chat.reduce, chat.initialState('alice'));
}

const ids = (state: ReturnType<typeof run>) => state.messages.map((message) => message.id);

describe('chat state', () => {
  test('a snapshot loads messages in id order and marks the chat loaded', () => {
    const state = run({ type: 'snapshot', messages: [at(1), at(2)], hasOlder: false });
    assert.deepEqual(ids(state), [1, 2]);
    assert.equal(state.isLoaded, true);
    assert.equal(state.hasOlder, false);
  });

  test('a later snapshot (a reset) replaces the list and keeps unconfirmed sends', () => {
    let state = run(
      { type: 'snapshot', messages: [at(5), at(6), at(7)], hasOlder: true },
      { type: 'older', messages: [at(3), at(4)], hasOlder: true },
      { type: 'queued', clientId: 'c1', text: 'still going', time: '2026-11-23T20:01:00.000Z' },
      { type: 'queued', clientId: 'c2', text: 'already there', time: '2026-11-23T20:01:01.000Z' },
      // The server's history began again: its newest page has nothing the page had before,
      // but it does have our second send, which the POST has not confirmed yet.
      { type: 'snapshot', messages: [at(2), at(1), at(3, 'alice', 'already there')], hasOlder: false },
    );
    assert.deepEqual(ids(state), [1, 2, 3]);
    assert.equal(state.hasOlder, false);
    // A page is not matched to pending sends by text, so that one shows twice until its POST
    // answers; the answer then leaves one row.
    assert.deepEqual(
      chat.listEntries(state).map((entry) => [entry.key, entry.state]),
      [
        ['m1', 'sent'],
        ['m2', 'sent'],
        ['m3', 'sent'],
        ['cc1', 'sending'],
        ['cc2', 'sending'],
      ],
    );
    state = chat.reduce(state, { type: 'sent', clientId: 'c2', message: at(3, 'alice', 'already there') });
    assert.deepEqual(
      chat.listEntries(state).map((entry) => entry.key),
      ['m1', 'm2', 'm3', 'cc1'],
    );
  });

  test('a pending send with the same text as an older own message on a reset’s page stays retryable when its POST fails', () => {
    const state = run(
      { type: 'snapshot', messages: [at(5), at(6, 'alice', 'ok')], hasOlder: false },
      { type: 'queued', clientId: 'c1', text: 'ok', time: '2026-11-23T20:01:00.000Z' },
      // A reset's newest page still holds the "ok" from a minute ago; ours is not on the server.
      { type: 'snapshot', messages: [at(1), at(2, 'alice', 'ok')], hasOlder: false },
      { type: 'failed', clientId: 'c1', error: 'No connection.' },
    );
    assert.deepEqual(
      chat.listEntries(state).map((entry) => [entry.key, entry.state]),
      [
        ['m1', 'sent'],
        ['m2', 'sent'],
        ['cc1', 'failed'],
      ],
    );
  });

  test('a match made on the feed before a reset is forgotten, so the send shows until its POST answers', () => {
    const state = run(
      { type: 'snapshot', messages: [], hasOlder: false },
      { type: 'queued', clientId: 'c1', text: 'hi', time: '2026-11-23T20:01:00.000Z' },
      { type: 'changes', messages: [at(7, 'alice', 'hi')], deleted: [] },
      // The history began again without message 7.
      { type: 'snapshot', messages: [at(1)], hasOlder: false },
    );
    assert.deepEqual(
      chat.listEntries(state).map((entry) => [entry.key, entry.state]),
      [
        ['m1', 'sent'],
        ['cc1', 'sending'],
      ],
    );
  });

  test('the same message arriving twice is kept once', () => {
    const state = run(
      { type: 'snapshot', messages: [at(1), at(2)], hasOlder: true },
      { type: 'changes', messages: [at(2), at(3)], deleted: [] },
      { type: 'changes', messages: [at(3)], deleted: [] },
    );
    assert.deepEqual(ids(state), [1, 2, 3]);
  });

  test('an older page goes before the current messages, overlapping or not', () => {
    const state = run(
      { type: 'snapshot', messages: [at(5), at(6)], hasOlder: true },
      { type: 'older', messages: [at(2), at(3), at(5)], hasOlder: false },
    );
    assert.deepEqual(ids(state), [2, 3, 5, 6]);
    assert.equal(state.hasOlder, false);
  });

  test('deletions remove messages, and deleting an unknown id changes nothing', () => {
    const state = run(
      { type: 'snapshot', messages: [at(1), at(2), at(3)], hasOlder: false },
      { type: 'changes', messages: [], deleted: [2, 99] },
    );
    assert.deepEqual(ids(state), [1, 3]);
  });

  test('a queued send shows at the end as sending, then as sent with its id', () => {
    let state = run(
      { type: 'snapshot', messages: [at(1)], hasOlder: false },
      { type: 'queued', clientId: 'c1', text: 'hi', time: '2026-11-23T20:01:00.000Z' },
    );
    let entries = chat.listEntries(state);
    assert.deepEqual(
      entries.map((entry) => [entry.key, entry.state, entry.isMine]),
      [
        ['m1', 'sent', false],
        ['cc1', 'sending', true],
      ],
    );
    state = chat.reduce(state, { type: 'sent', clientId: 'c1', message: at(2, 'alice', 'hi') });
    entries = chat.listEntries(state);
    assert.deepEqual(
      entries.map((entry) => [entry.key, entry.state, entry.isMine]),
      [
        ['m1', 'sent', false],
        ['m2', 'sent', true],
      ],
    );
    assert.deepEqual(state.outbox, []);
  });

  test('a failed send keeps its clientId and text for the retry', () => {
    const state = run(
      { type: 'queued', clientId: 'c1', text: 'hi', time: '2026-11-23T20:01:00.000Z' },
      { type: 'failed', clientId: 'c1', error: 'No connection.' },
    );
    const [entry] = chat.listEntries(state);
    assert.equal(entry!.state, 'failed');
    assert.equal(entry!.clientId, 'c1');
    assert.equal(entry!.error, 'No connection.');
    const retried = chat.reduce(state, { type: 'retrying', clientId: 'c1' });
    assert.equal(retried.outbox[0]!.state, 'sending');
    assert.equal(retried.outbox[0]!.error, null);
    assert.equal(retried.outbox[0]!.clientId, 'c1');
  });

  test('our own message arriving on the feed before the POST answer is never shown twice', () => {
    let state = run(
      { type: 'snapshot', messages: [], hasOlder: false },
      { type: 'queued', clientId: 'c1', text: 'hi', time: '2026-11-23T20:01:00.000Z' },
      { type: 'changes', messages: [at(7, 'alice', 'hi')], deleted: [] },
    );
    assert.deepEqual(
      chat.listEntries(state).map((entry) => entry.key),
      ['m7'],
    );
    state = chat.reduce(state, { type: 'sent', clientId: 'c1', message: at(7, 'alice', 'hi') });
    assert.deepEqual(
      chat.listEntries(state).map((entry) => entry.key),
      ['m7'],
    );
    assert.deepEqual(state.outbox, []);
  });

  test('a send that failed after the feed delivered it leaves nothing to retry', () => {
    const state = run(
      { type: 'queued', clientId: 'c1', text: 'hi', time: '2026-11-23T20:01:00.000Z' },
      { type: 'changes', messages: [at(7, 'alice', 'hi')], deleted: [] },
      { type: 'failed', clientId: 'c1', error: 'No connection.' },
    );
    assert.deepEqual(
      chat.listEntries(state).map((entry) => [entry.key, entry.state]),
      [['m7', 'sent']],
    );
  });

  test('two identical pending texts are matched to two different echoes', () => {
    const state = run(
      { type: 'queued', clientId: 'c1', text: 'same', time: '2026-11-23T20:01:00.000Z' },
      { type: 'queued', clientId: 'c2', text: 'same', time: '2026-11-23T20:01:01.000Z' },
      { type: 'changes', messages: [at(3, 'alice', 'same')], deleted: [] },
    );
    assert.deepEqual(
      chat.listEntries(state).map((entry) => entry.key),
      ['m3', 'cc2'],
    );
  });

  test('someone else with the same text does not confirm our pending message', () => {
    const state = run(
      { type: 'queued', clientId: 'c1', text: 'hi', time: '2026-11-23T20:01:00.000Z' },
      { type: 'changes', messages: [at(3, 'bob', 'hi')], deleted: [] },
    );
    assert.deepEqual(
      chat.listEntries(state).map((entry) => [entry.key, entry.state]),
      [
        ['m3', 'sent'],
        ['cc1', 'sending'],
      ],
    );
  });

  test('a discarded failed send disappears', () => {
    const state = run(
      { type: 'queued', clientId: 'c1', text: 'hi', time: '2026-11-23T20:01:00.000Z' },
      { type: 'failed', clientId: 'c1', error: 'x' },
      { type: 'discarded', clientId: 'c1' },
    );
    assert.deepEqual(chat.listEntries(state), []);
  });

  test('new arrivals count only others’ confirmed messages newer than the given id', () => {
    const state = run(
      { type: 'snapshot', messages: [at(1), at(2, 'alice'), at(3), at(4)], hasOlder: false },
      { type: 'queued', clientId: 'c1', text: 'pending', time: '2026-11-23T20:01:00.000Z' },
    );
    const entries = chat.listEntries(state);
    assert.equal(chat.newestId(entries), 4);
    assert.deepEqual(
      chat.newArrivals(entries, 1).map((entry) => entry.id),
      [3, 4],
    );
    assert.deepEqual(chat.newArrivals(entries, 4), []);
    assert.equal(chat.newestId([]), -Infinity);
  });

  test('merge keeps ids unique and ascending for any arrival order', () => {
    for (let round = 0; round < 200; round++) {
      let messages: ChatMessage[] = [];
      const seen = new Set<number>();
      for (let batch = 0; batch < 5; batch++) {
        const incoming = Array.from({ length: 1 + Math.floor(Math.random() * 6) }, () => at(1 + Math.floor(Math.random() * 30)));
        if (Math.random() < 0.5) incoming.sort((a, b) => a.id - b.id);
        for (const message of incoming) seen.add(message.id);
        messages = chat.merge(messages, incoming);
      }
      assert.deepEqual(
        messages.map((message) => message.id),
        [...seen].sort((a, b) => a - b),
      );
    }
  });
});
