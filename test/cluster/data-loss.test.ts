// What cursors and ids mean when they cannot simply be read from a node's ring: Redis that lost
// its data (restarted without AOF), a node that lags behind the stream, a cursor ahead of
// everything Redis handed out, and a stream trimmed past a node that was away. In-process
// ClusterChat nodes on a real redis-server; a relay (the network) cuts one node off.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { startRedis, startRelay, type RedisOptions, type RedisRelay, type RunningRedis } from '../helpers/redis.js';
import { adminClient, openNode, untilCursor, untilEvent, type Node } from './support.js';
import { until } from '../helpers/until.js';

async function redisFor(t: TestContext, options: RedisOptions = {}): Promise<RunningRedis> {
  const redis = await startRedis(options);
  t.after(() => redis.stop());
  return redis;
}

async function relayFor(t: TestContext, redis: RunningRedis): Promise<RedisRelay> {
  const relay = await startRelay(redis);
  t.after(() => relay.close());
  return relay;
}

async function sendAll(node: Node, user: string, texts: string[]): Promise<number[]> {
  const ids: number[] = [];
  for (const text of texts) ids.push((await node.chat.send(user, text, undefined)).message.id);
  return ids;
}

const texts = (node: Node, after = 0) => node.chat.changesAfter(after, 1000).messages.map((m) => `${m.id}:${m.text}`);

test('after Redis lost its data, ids go on above what the node held, it shows what Redis holds, and old cursors get a reset', async (t) => {
  const redis = await redisFor(t, { appendfsync: 'off' });
  const a = await openNode(t, redis, { nodeName: 'a' });
  assert.deepEqual(await sendAll(a, 'alice', ['before 1', 'before 2', 'before 3']), [1, 2, 3]);

  await redis.restart(); // no AOF: Redis comes back empty
  await untilEvent(a, 'ring-rebuilt');
  assert.ok(a.events.includes('redis-history-lost'));
  await until(() => a.chat.isHealthy(), 'the node is healthy again', 15_000);

  const { message } = await a.chat.send('alice', 'after', undefined);
  assert.ok(message.id > 3, `id ${message.id} is above every id the node showed before`);
  assert.deepEqual(texts(a), [`${message.id}:after`], 'the lost messages are gone here too, as they are from Redis');
  for (const old of [1, 2, 3]) {
    const page = a.chat.changesAfter(old, 100);
    assert.equal(page.reset, true, `cursor ${old} pointed into what Redis lost`);
    assert.deepEqual([page.messages.map((m) => m.text), page.last], [['after'], message.id]);
    assert.equal(a.chat.liveChangesAfter(old, 100).missed, true);
  }
  assert.equal(a.chat.changesAfter(message.id, 100).reset, undefined);
});

test('Redis restarted empty and a late node writes first: ids are never reused and both nodes agree on every id', async (t) => {
  const redis = await redisFor(t, { appendfsync: 'off' });
  const c = await openNode(t, redis, { nodeName: 'c' });
  const old = await sendAll(c, 'carol', ['c1', 'c2', 'c3']);

  await redis.restart();
  // Node C is back once it has joined again: that is when it raises the seq above its head.
  await untilEvent(c, 'redis-history-lost');
  await until(() => c.chat.isHealthy(), 'node C can write again', 15_000);
  const d = await openNode(t, redis, { nodeName: 'd' });
  const first = await d.chat.send('dave', 'd first', undefined);
  assert.ok(!old.includes(first.message.id), `D's first id ${first.message.id} is not one C handed out (${old})`);
  const second = await c.chat.send('carol', 'c after', undefined);
  await untilCursor(d.chat, second.message.id);
  await untilCursor(c.chat, second.message.id);

  assert.deepEqual(texts(c), texts(d));
  assert.deepEqual(texts(c), [`${first.message.id}:d first`, `${second.message.id}:c after`]);
  assert.deepEqual(c.chat.history(undefined, 100), d.chat.history(undefined, 100));
  for (const node of [c, d]) assert.equal(node.chat.changesAfter(old[1]!, 100).reset, true, 'a client of C from before the loss is told to reload, on either node');
});

test('a late node that wrote before the old node got back: the old node adopts Redis’s history and its clients get a reset', async (t) => {
  const redis = await redisFor(t, { appendfsync: 'off' });
  const relay = await relayFor(t, redis);
  const c = await openNode(t, relay, { nodeName: 'c' });
  await sendAll(c, 'carol', ['c1', 'c2', 'c3']);
  const oldCursor = c.chat.cursor;

  relay.cut(); // C cannot see Redis come back empty...
  await redis.restart();
  const d = await openNode(t, redis, { nodeName: 'd' });
  // ...so D, which never saw C's ids, hands out 1 again. Nothing can prevent that one; what
  // matters is that no node keeps showing C's message 1 once C is back.
  const dFirst = await d.chat.send('dave', 'd1', undefined);
  assert.equal(dFirst.message.id, 1);

  relay.restore();
  await untilEvent(c, 'ring-rebuilt');
  await until(() => c.chat.changesAfter(0, 10).messages.some((m) => m.text === 'd1'), 'node C holds D’s message', 15_000);
  await until(() => d.chat.changesAfter(oldCursor, 10).reset === true, 'node D learned of the loss', 15_000);
  assert.deepEqual(texts(c), ['1:d1']);
  assert.deepEqual(texts(c), texts(d));
  for (const node of [c, d]) {
    const page = node.chat.changesAfter(oldCursor, 100);
    assert.equal(page.reset, true);
    assert.deepEqual(page.messages.map((m) => m.text), ['d1']);
    assert.ok(page.last > oldCursor, 'the reset page continues past the lost range, so it is not reset again');
    assert.equal(node.chat.changesAfter(page.last, 100).reset, undefined);
  }

  const next = await d.chat.send('dave', 'd2', undefined);
  assert.ok(next.message.id > oldCursor, 'new ids are above everything C had shown');
  await untilCursor(c.chat, next.message.id);
  assert.deepEqual(texts(c), texts(d));
});

test('a client moving to a node that lost Redis is not reset: it gets what follows once the node is back', async (t) => {
  const redis = await redisFor(t);
  const relay = await relayFor(t, redis);
  const a = await openNode(t, redis, { nodeName: 'a' });
  const b = await openNode(t, relay, { nodeName: 'b', followBlockMs: 500 });
  const early = await sendAll(a, 'alice', ['m1', 'm2', 'm3']);
  await untilCursor(b.chat, early[2]!);

  relay.cut();
  await until(async () => !(await b.chat.isHealthy()), 'B knows it lost Redis', 15_000);
  const late = await sendAll(a, 'alice', ['m4', 'm5']);
  const cursor = late[1]!; // what a client of A holds, before it moves to B

  assert.deepEqual(b.chat.changesAfter(cursor, 100), { messages: [], deleted: [], last: cursor });
  assert.deepEqual(b.chat.liveChangesAfter(cursor, 100), { changes: [], last: cursor, missed: false });

  relay.restore();
  await untilCursor(b.chat, cursor);
  const after = await a.chat.send('alice', 'm6', undefined);
  await untilCursor(b.chat, after.message.id);
  assert.deepEqual(b.chat.changesAfter(cursor, 100).messages, [after.message], 'no gap, no duplicate');
  assert.deepEqual(b.chat.changesAfter(early[2]!, 100).messages.map((m) => m.text), ['m4', 'm5', 'm6']);
});

test('a cursor past everything Redis handed out gets a reset from a node that follows the stream', async (t) => {
  const redis = await redisFor(t);
  const a = await openNode(t, redis);
  const ids = await sendAll(a, 'alice', ['one', 'two']);
  const ahead = ids[1]! + 50; // e.g. from before the whole cluster and its Redis were wiped
  const page = a.chat.changesAfter(ahead, 100);
  assert.equal(page.reset, true);
  assert.deepEqual([page.messages.map((m) => m.text), page.last], [['one', 'two'], ids[1]]);
  assert.deepEqual(a.chat.liveChangesAfter(ahead, 100), { changes: [], last: ids[1], missed: true });
});

test('a node that was away while Redis trimmed what it had not read tells clients behind that point to reload', async (t) => {
  const redis = await redisFor(t);
  const relay = await relayFor(t, redis);
  // Redis trims a stream (MAXLEN ~) by whole nodes of this many entries (100 by default): small
  // ones let a test watch it trim at a small --capacity.
  const admin = await adminClient(t, redis);
  await admin.configSet('stream-node-max-entries', '4');
  const capacity = 16;
  const a = await openNode(t, redis, { nodeName: 'a', capacity });
  const b = await openNode(t, relay, { nodeName: 'b', capacity });
  const early = await sendAll(a, 'alice', ['m1', 'm2', 'm3']);
  await untilCursor(b.chat, early[2]!);
  relay.cut();
  const later = await sendAll(a, 'alice', Array.from({ length: 3 * capacity }, (_, i) => `m${i + 4}`));
  const [first] = await admin.xRange('parley:changes', '-', '+', { COUNT: 1 });
  const firstKept = Number(first!.id.split('-')[0]);
  assert.ok(firstKept > early[2]! + 1, `Redis trimmed what B had not read (the stream begins at ${firstKept})`);

  relay.restore();
  await untilCursor(b.chat, later.at(-1)!);
  assert.ok(b.events.includes('stream-trimmed-past-node'));
  const page = b.chat.changesAfter(early[2]!, 100);
  assert.equal(page.reset, true, 'the trimmed messages are not deletions: the client must reload');
  assert.equal(b.chat.liveChangesAfter(early[2]!, 100).missed, true);
  const recent = later.at(-3)!;
  assert.deepEqual(b.chat.changesAfter(recent, 100), a.chat.changesAfter(recent, 100), 'a recent cursor reads on as on the node that stayed');
  assert.equal(b.chat.changesAfter(recent, 100).reset, undefined);
});

test('a write that finds Redis flushed makes the node join again at once, not after its stream read times out', async (t) => {
  const redis = await redisFor(t);
  // A read that blocks far longer than the wait below: only ending it early lets the node join.
  const a = await openNode(t, redis, { nodeName: 'a', followBlockMs: 60_000 });
  const before = await a.chat.send('alice', 'before the flush', undefined);
  const admin = await adminClient(t, redis);
  await admin.flushAll(); // nothing reconnects: the node learns of it from its next write

  await assert.rejects(a.chat.send('alice', 'into another epoch', undefined), /restarted or lost its data/);
  await untilEvent(a, 'redis-history-lost', undefined, { timeoutMs: 10_000 });
  await until(() => a.chat.isHealthy(), 'the node can write again', 15_000);
  const after = await a.chat.send('alice', 'after the flush', undefined);
  assert.ok(after.message.id > before.message.id, 'ids go on above what the node showed');
});
