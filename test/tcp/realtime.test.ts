// Subscriptions: changes from any client are pushed to every subscriber, in cursor order,
// and a subscriber resuming from a cursor gets exactly what it missed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer, type RunningServer } from '../helpers/server.js';
import { RawClient, type Frame } from '../helpers/tcp-client.js';

let server: RunningServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.stop();
});

test('two clients see each other’s messages and deletions pushed', async () => {
  const alice = await RawClient.connect(server.tcpPort);
  const bob = await RawClient.connect(server.tcpPort);
  await alice.login('alice');
  await bob.login('bob');
  const aliceSub = await alice.request('subscribe');
  const bobSub = await bob.request('subscribe');
  assert.deepEqual([aliceSub.ok, bobSub.ok, aliceSub.missed], [true, true, false]);

  const sent = await alice.request('send', { text: 'hi bob' });
  const pushedToBob = await bob.next((f) => f.event === 'message');
  assert.deepEqual(pushedToBob, { event: 'message', cursor: sent.message.id, message: sent.message });
  const pushedToAlice = await alice.next((f) => f.event === 'message');
  assert.deepEqual(pushedToAlice.message, sent.message);

  const reply = await bob.request('send', { text: 'hi alice' });
  assert.deepEqual((await alice.next((f) => f.event === 'message')).message, reply.message);

  const deletion = await alice.request('delete', { messageId: sent.message.id });
  const deletePush = await bob.next((f) => f.event === 'delete');
  assert.deepEqual(deletePush, { event: 'delete', cursor: deletion.cursor, id: sent.message.id });

  // Unsubscribed clients stop receiving pushes.
  await bob.request('unsubscribe');
  await alice.request('send', { text: 'after unsubscribe' });
  await alice.next((f) => f.event === 'message' && f.message.text === 'after unsubscribe');
  const ping = await bob.request('ping');
  assert.equal(ping.ok, true);
  assert.equal(bob.frames.some((f) => f.event === 'message' && f.message.text === 'after unsubscribe'), false);
  alice.close();
  bob.close();
});

test('subscribe from a cursor replays what was missed, then goes live, without gap or duplicate', async () => {
  const writer = await RawClient.connect(server.tcpPort);
  await writer.login('writer');
  const first = await writer.request('send', { text: 'm1' });
  const cursor = first.message.id;
  const m2 = await writer.request('send', { text: 'm2' });
  await writer.request('send', { text: 'm3' });
  await writer.request('delete', { messageId: m2.message.id });
  const deletedBefore = await writer.request('send', { text: 'gone before anyone saw it' });
  await writer.request('delete', { messageId: deletedBefore.message.id });

  const reader = await RawClient.connect(server.tcpPort);
  await reader.login('reader');
  // Keep writing while the reader subscribes, so live changes race the replay.
  const racing = Array.from({ length: 50 }, (_, i) => writer.request('send', { text: `live ${i}` }));
  const subscribed = await reader.request('subscribe', { last: cursor });
  await Promise.all(racing);
  const final = await writer.request('send', { text: 'final' });
  await reader.next((f) => f.event === 'message' && f.message.id === final.message.id);

  const pushes = reader.frames.filter((f): f is Frame => f.event === 'message' || f.event === 'delete');
  const cursors = pushes.map((f) => f.cursor as number);
  assert.deepEqual(cursors, [...cursors].sort((a, b) => a - b), 'pushes arrive in cursor order');
  assert.equal(new Set(cursors).size, cursors.length, 'no push twice');
  const texts = pushes.filter((f) => f.event === 'message').map((f) => f.message.text);
  assert.deepEqual(texts.slice(0, 1), ['m3'], 'm2 was deleted before the reader saw it');
  assert.ok(!texts.includes('gone before anyone saw it'));
  for (let i = 0; i < 50; i++) assert.ok(texts.includes(`live ${i}`), `live ${i} arrived`);
  assert.ok(subscribed.last >= cursor);
  // m2's deletion is news to a reader that had seen up to m1 only if m2 <= cursor: it is not.
  assert.equal(pushes.filter((f) => f.event === 'delete').length, 0);
  writer.close();
  reader.close();
});

test('subscribe from a cursor replays past a page whose changes were all deleted and pushes the newer ones', async () => {
  const writer = await RawClient.connect(server.tcpPort);
  await writer.login('page-deleter');
  const cursor = (await writer.request('history', { limit: 1 })).last;
  // 500 messages (one backlog page) deleted before anyone saw them: that page pushes nothing.
  const gone = await Promise.all(Array.from({ length: 500 }, (_, i) => writer.request('send', { text: `gone ${i}` })));
  await Promise.all(gone.map((reply) => writer.request('delete', { messageId: reply.message.id })));
  const newer = [];
  for (let i = 0; i < 10; i++) newer.push((await writer.request('send', { text: `newer ${i}` })).message);

  const reader = await RawClient.connect(server.tcpPort);
  await reader.login('page-reader');
  const subscribed = await reader.request('subscribe', { last: cursor });
  // The replay is written before the reply, so it has all arrived by now.
  // (Deletions of the unseen messages may come too: each page filters against its own start.)
  const pushed = reader.frames.filter((f) => f.event === 'message');
  assert.deepEqual(pushed.map((f) => f.message), newer);
  assert.deepEqual([subscribed.last, subscribed.missed], [newer.at(-1)!.id, false]);
  writer.close();
  reader.close();
});

test('changes sent while a replay waits for a slow reader arrive once each, in order, with nothing held back', async () => {
  const writer = await RawClient.connect(server.tcpPort);
  await writer.login('backlog-writer');
  const cursor = (await writer.request('history', { limit: 1 })).last;
  // 600 messages of 16 KB: a 10 MB backlog, more than the kernel buffers and the server's 1 MiB
  // take, so the replay must wait for the reader part way.
  const text = '😀'.repeat(4000);
  await Promise.all(Array.from({ length: 600 }, () => writer.request('send', { text })));

  const reader = await RawClient.connect(server.tcpPort);
  await reader.login('slow-replayer');
  reader.socket.pause();
  const subscribing = reader.request('subscribe', { last: cursor });
  const live = [];
  for (let i = 0; i < 100; i++) live.push((await writer.request('send', { text: `during ${i}` })).message);
  reader.socket.resume();
  const subscribed = await subscribing;
  assert.ok(subscribed.last >= live.at(-1)!.id, 'the replay was still running when the last of them was sent');
  const final = await writer.request('send', { text: 'after the replay' });
  await reader.next((f) => f.event === 'message' && f.message.id === final.message.id);

  const cursors = reader.frames.filter((f) => f.event === 'message').map((f) => f.cursor as number);
  assert.deepEqual(cursors, [...cursors].sort((a, b) => a - b), 'pushes arrive in cursor order');
  assert.equal(new Set(cursors).size, cursors.length, 'no push twice');
  assert.equal(cursors.length, 600 + 100 + 1);
  const texts = reader.frames.filter((f) => f.event === 'message').map((f) => f.message.text);
  assert.deepEqual(texts.slice(600), [...live.map((m) => m.text), 'after the replay']);
  writer.close();
  reader.close();
});

test('a session that ends while its subscribe replays the backlog gets NOT_LOGGED_IN for the subscribe, after session-ended', async () => {
  const writer = await RawClient.connect(server.tcpPort);
  await writer.login('ending-writer');
  const cursor = (await writer.request('history', { limit: 1 })).last;
  // A 10 MB backlog: the replay waits for the reader, who does not read yet.
  const text = '😀'.repeat(4000);
  await Promise.all(Array.from({ length: 600 }, () => writer.request('send', { text })));

  const reader = await RawClient.connect(server.tcpPort);
  const { token } = await reader.login('ending-reader');
  reader.socket.pause();
  const subscribing = reader.request('subscribe', { last: cursor });
  const elsewhere = await RawClient.connect(server.tcpPort);
  assert.equal((await elsewhere.request('resume', { token })).ok, true);
  assert.equal((await elsewhere.request('logout')).ok, true);
  reader.socket.resume();
  const subscribed = await subscribing;
  assert.deepEqual([subscribed.ok, subscribed.error?.code], [false, 'NOT_LOGGED_IN']);
  assert.match(subscribed.error.message, /session ended/);
  const ended = reader.frames.findIndex((f) => f.event === 'session-ended');
  assert.ok(ended >= 0 && ended < reader.frames.indexOf(subscribed), 'session-ended comes first');
  writer.close();
  reader.close();
  elsewhere.close();
});

test('a subscriber that resumes after seeing a message learns of its deletion', async () => {
  const writer = await RawClient.connect(server.tcpPort);
  await writer.login('w2');
  const sent = await writer.request('send', { text: 'seen then deleted' });
  const deletion = await writer.request('delete', { messageId: sent.message.id });
  const reader = await RawClient.connect(server.tcpPort);
  await reader.login('r2');
  const reply = await reader.request('subscribe', { last: sent.message.id });
  const push = await reader.next((f) => f.event === 'delete');
  assert.deepEqual(push, { event: 'delete', cursor: deletion.cursor, id: sent.message.id });
  assert.ok(reply.last >= deletion.cursor);
  writer.close();
  reader.close();
});

test('a cursor from before a --memory restart: subscribe says missed and pushes what comes next; history says reset (#5)', async (t) => {
  const before = await startServer({ args: ['--memory'] });
  const old = await RawClient.connect(before.tcpPort);
  await old.login('old-timer');
  let oldCursor = 0;
  for (let i = 0; i < 5; i++) oldCursor = (await old.request('send', { text: `before ${i}` })).message.id;
  old.close();
  await before.stop();

  const after = await startServer({ args: ['--memory'] });
  t.after(() => after.stop());
  const writer = await RawClient.connect(after.tcpPort);
  await writer.login('writer');
  const fresh = await writer.request('send', { text: 'the new history' });
  assert.ok(fresh.message.id < oldCursor, 'the restarted server counts from 1 again');

  const reader = await RawClient.connect(after.tcpPort);
  await reader.login('old-timer');
  const subscribed = await reader.request('subscribe', { last: oldCursor });
  assert.deepEqual([subscribed.ok, subscribed.missed, subscribed.last], [true, true, fresh.message.id]);
  const next = await writer.request('send', { text: 'pushed after the reset' });
  const push = await reader.next((f) => f.event === 'message');
  assert.deepEqual(push.message, next.message, 'pushes continue after the server cursor, not the stale one');

  const history = await reader.request('history', { last: oldCursor });
  assert.equal(history.reset, true);
  assert.deepEqual(history.messages, [fresh.message, next.message]);
  assert.equal(history.last, next.message.id);
  writer.close();
  reader.close();
});

test('a cursor older than the ring keeps: subscribe says missed and replays what is kept; history says reset (#5)', async (t) => {
  const small = await startServer({ args: ['--capacity', '16'] });
  t.after(() => small.stop());
  const writer = await RawClient.connect(small.tcpPort);
  await writer.login('writer');
  const sent = [];
  for (let i = 0; i < 40; i++) sent.push((await writer.request('send', { text: `m${i}` })).message);

  const reader = await RawClient.connect(small.tcpPort);
  await reader.login('reader');
  const subscribed = await reader.request('subscribe', { last: sent[0]!.id });
  assert.deepEqual([subscribed.missed, subscribed.last], [true, sent[39]!.id]);
  const replayed = reader.frames.filter((f) => f.event === 'message').map((f) => f.message);
  assert.ok(replayed.length > 0 && replayed.length <= 16, `${replayed.length} replayed`);
  assert.deepEqual(replayed, sent.slice(-replayed.length), 'the newest changes the ring keeps, in order');
  const live = await writer.request('send', { text: 'live' });
  assert.deepEqual((await reader.next((f) => f.event === 'message' && f.message.id === live.message.id)).message, live.message);

  const history = await reader.request('history', { last: sent[0]!.id, limit: 5 });
  assert.equal(history.reset, true);
  assert.deepEqual(history.messages, [...sent.slice(-4), live.message]);
  const current = await reader.request('history', { last: live.message.id });
  assert.equal(current.reset, undefined, 'an up-to-date cursor is not a reset');
  writer.close();
  reader.close();
});
