// Cursors the server cannot continue from (docs/api.md, Cursors): one past the newest change
// (the history began again, e.g. a --memory restart) or older than anything the store keeps.
// Polls answer `reset: true` with the newest page, long-polls do so at once, and SSE streams
// send a `reset` event and go on from the newest change.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer, type RunningServer } from '../helpers/server.js';
import { RawClient } from '../helpers/tcp-client.js';
import { login, SseReader, type User } from './support.js';

/** Well past anything this test's servers will reach. */
const FUTURE = 1_000_000_000;
// The smallest ring --capacity allows: the oldest changes are dropped after 16.
const CAPACITY = 16;

let server: RunningServer;
let alice: User;
let bob: User;
before(async () => {
  server = await startServer({ args: ['--memory', '--capacity', String(CAPACITY)] });
  alice = await login(server.baseUrl, 'alice');
  bob = await login(server.baseUrl, 'bob');
  // Three times the ring: cursors 1 to 31 are gone.
  const client = await RawClient.connect(server.tcpPort);
  await client.login('filler');
  for (let i = 1; i <= 3 * CAPACITY; i++) assert.equal((await client.request('send', { text: `filler ${i}` })).ok, true);
  client.close();
});
after(() => server.stop());

interface ChangeSet {
  messages: Array<{ id: number; text: string }>;
  deleted: number[];
  last: number;
  reset?: boolean;
}

async function newest(): Promise<number> {
  return ((await (await alice.fetch('/api/messages?limit=1')).json()) as ChangeSet).last;
}

for (const [what, cursor] of [['past the newest change', () => FUTURE], ['older than the store keeps', () => 1]] as const) {
  test(`a poll from a cursor ${what} answers reset with the newest page`, async () => {
    const answer = (await (await alice.fetch(`/api/messages?last=${cursor()}&limit=5`)).json()) as ChangeSet;
    const last = await newest();
    assert.equal(answer.reset, true);
    assert.equal(answer.last, last);
    assert.deepEqual(answer.messages.map((m) => m.id), [last - 4, last - 3, last - 2, last - 1, last]);
  });

  test(`a long-poll from a cursor ${what} answers reset at once instead of waiting`, async () => {
    const started = Date.now();
    const answer = (await (await alice.fetch(`/api/messages?last=${cursor()}&wait=30`)).json()) as ChangeSet;
    assert.ok(Date.now() - started < 10_000, 'answered without waiting for the 30 s');
    assert.equal(answer.reset, true);
    assert.equal(answer.last, await newest());
    assert.ok(answer.messages.length > 0);
  });

  for (const via of ['?last=', 'Last-Event-ID'] as const) {
    test(`an SSE stream from a cursor ${what} (${via}) sends a reset event, then follows from the newest change`, async () => {
      const last = await newest();
      const stream =
        via === '?last='
          ? await SseReader.open(bob, `/api/events?last=${cursor()}`)
          : await SseReader.open(bob, '/api/events?last=0', { 'last-event-id': String(cursor()) });
      const reset = await stream.next();
      assert.equal(reset.event, 'reset');
      assert.equal(reset.id, String(last));
      assert.deepEqual(JSON.parse(reset.data), { last });
      const sent = await alice.send(`after a reset from ${what} via ${via}`);
      const next = await stream.next();
      assert.deepEqual([next.event, next.id, JSON.parse(next.data)], ['message', String(sent.id), sent]);
      assert.equal(stream.events.length, 2, 'nothing older than the newest change was replayed');
      stream.close();
    });
  }
}

test('a cursor the store still has is no reset, on every transport', async () => {
  const last = await newest();
  const poll = (await (await alice.fetch(`/api/messages?last=${last - 2}`)).json()) as ChangeSet;
  assert.equal(poll.reset, undefined);
  assert.equal(poll.messages.length, 2);
  const stream = await SseReader.open(bob, `/api/events?last=${last - 2}`);
  await stream.reach(last);
  assert.deepEqual(stream.events.map((e) => e.event), ['message', 'message']);
  stream.close();
});
