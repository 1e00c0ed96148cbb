// ClusterChat against a real redis-server: two or three nodes in this process share one Redis,
// as separate Parley processes would (each has its own connections, ring and sessions copy).
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { test } from 'node:test';
import { hashToken } from '../../server/chat/session-token.js';
import { ApiError } from '../../server/errors.js';
import { ClusterChat, ClusterError } from '../../server/cluster/cluster-chat.js';
import type { LiveChange } from '../../server/chat/chat.js';
import { startRedis, startRelay, type RunningRedis } from '../helpers/redis.js';
import { adminClient, openNode, untilCursor, untilEvent } from './support.js';
import { until } from '../helpers/until.js';

async function redisFor(t: import('node:test').TestContext, options: Parameters<typeof startRedis>[0] = {}): Promise<RunningRedis> {
  const redis = await startRedis(options);
  t.after(() => redis.stop());
  return redis;
}

function isApiError(code: string, message?: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof ApiError, `expected an ApiError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (message) assert.match(error.message, message);
    return true;
  };
}

test('a message sent on one node is in the other node’s ring and feed, with the same id and cursor', async (t) => {
  const redis = await redisFor(t);
  const a = await openNode(t, redis);
  const b = await openNode(t, redis);
  const seen: LiveChange[] = [];
  b.chat.subscribe((change) => seen.push(change));

  const first = await a.chat.send('alice', 'hello from a', undefined);
  const second = await b.chat.send('bob', 'hello from b', null);
  // Read-your-writes: the node that took a write has it the moment the send resolves.
  assert.equal(a.chat.cursor >= first.message.id, true);
  assert.equal(b.chat.cursor >= second.message.id, true);
  assert.deepEqual([first.message.id, second.message.id], [1, 2]);
  await untilCursor(a.chat, 2);

  for (const node of [a, b]) {
    assert.deepEqual(node.chat.changesAfter(0, 100), { messages: [first.message, second.message], deleted: [], last: 2 });
    assert.deepEqual(node.chat.history(undefined, 10).messages, [first.message, second.message]);
  }
  assert.deepEqual(seen, [
    { kind: 'message', cursor: 1, message: first.message },
    { kind: 'message', cursor: 2, message: second.message },
  ]);
  assert.equal(first.message.user, 'alice');
  assert.ok(Math.abs(Date.parse(first.message.time) - Date.now()) < 60_000, 'stamped with Redis’s clock, which is this machine’s');
});

test('texts are checked and normalised as on one node', async (t) => {
  const redis = await redisFor(t);
  const a = await openNode(t, redis);
  await assert.rejects(a.chat.send('alice', '   ', undefined), isApiError('TEXT_EMPTY'));
  await assert.rejects(a.chat.send('alice', 'x'.repeat(4001), undefined), isApiError('TEXT_TOO_LONG', /4,?001 characters/));
  await assert.rejects(a.chat.send('alice', 42, undefined), isApiError('BAD_REQUEST', /text must be a string/));
  await assert.rejects(a.chat.send('alice', 'hi', ''), isApiError('BAD_REQUEST', /clientId/));
  const { message } = await a.chat.send('alice', 'Cafe\u0301', undefined);
  assert.equal(message.text, 'Caf\u00e9');
  assert.equal(a.chat.history(undefined, 1).messages[0]!.text, 'Caf\u00e9');
});

test('a resend with the same clientId through another node returns the first message', async (t) => {
  const redis = await redisFor(t);
  const a = await openNode(t, redis);
  const b = await openNode(t, redis);
  const first = await a.chat.send('alice', 'only once', 'attempt-1');
  const retry = await b.chat.send('alice', 'only once', 'attempt-1');
  assert.deepEqual([first.duplicate, retry.duplicate], [false, true]);
  assert.deepEqual(retry.message, first.message);

  // Racing copies through both nodes: Redis runs the scripts one at a time, one wins.
  const racing = await Promise.all([a.chat.send('alice', 'race', 'attempt-2'), b.chat.send('alice', 'race', 'attempt-2')]);
  assert.deepEqual(racing.map((r) => r.duplicate).sort(), [false, true]);
  assert.equal(racing[0].message.id, racing[1].message.id);

  // The key is per user: bob's 'attempt-1' is his own message.
  const bobs = await b.chat.send('bob', 'mine', 'attempt-1');
  assert.equal(bobs.duplicate, false);
  await untilCursor(a.chat, bobs.message.id);
  assert.deepEqual(a.chat.changesAfter(0, 100).messages.map((m) => m.text), ['only once', 'race', 'mine']);
});

test('deleting checks ownership and existence in Redis, and every node sees the deletion', async (t) => {
  const redis = await redisFor(t);
  const a = await openNode(t, redis);
  const b = await openNode(t, redis);
  const seenOnA: LiveChange[] = [];
  a.chat.subscribe((change) => seenOnA.push(change));
  const { message } = await a.chat.send('alice', 'regret', undefined);
  const kept = await a.chat.send('alice', 'keep', undefined);

  await assert.rejects(b.chat.delete('bob', message.id), isApiError('FORBIDDEN', /someone else's/));
  const { cursor } = await b.chat.delete('alice', message.id);
  assert.equal(cursor, kept.message.id + 1);
  await assert.rejects(a.chat.delete('alice', message.id), isApiError('NOT_FOUND', /already deleted/));
  await assert.rejects(a.chat.delete('alice', 999), isApiError('NOT_FOUND'));
  await assert.rejects(a.chat.delete('alice', cursor), isApiError('NOT_FOUND'), 'a deletion is not a message');
  await assert.rejects(a.chat.delete('alice', 0), isApiError('NOT_FOUND', /positive whole numbers/));

  await untilCursor(a.chat, cursor);
  for (const node of [a, b]) {
    assert.deepEqual(node.chat.changesAfter(0, 100), { messages: [kept.message], deleted: [], last: cursor });
    assert.deepEqual(node.chat.changesAfter(message.id, 100), { messages: [kept.message], deleted: [message.id], last: cursor });
  }
  assert.deepEqual(seenOnA.at(-1), { kind: 'delete', cursor, id: message.id });
});

test('a session made on one node works on another, and a logout on either ends it on both', async (t) => {
  const redis = await redisFor(t);
  const a = await openNode(t, redis);
  const b = await openNode(t, redis);
  await assert.rejects(a.chat.login('  '), isApiError('INVALID_USERNAME'));
  const session = await a.chat.login(' Zoë ');
  assert.equal(session.username, 'Zoë');
  assert.deepEqual(await b.chat.lookup(session.token), session);
  assert.deepEqual(await a.chat.lookup(session.token), session);
  await b.chat.logout(session.token);
  assert.equal(await a.chat.lookup(session.token), undefined);
  assert.equal(await b.chat.lookup(session.token), undefined);
  await b.chat.logout(session.token); // ending an ended session is not an error
  assert.equal(await a.chat.lookup('not-a-token'), undefined);
  assert.equal(await a.chat.lookup('x'.repeat(500)), undefined);
});

test('a node that starts late replays the stream, deletions included', async (t) => {
  const redis = await redisFor(t);
  const a = await openNode(t, redis, { capacity: 16 });
  const sent = [];
  for (let i = 0; i < 40; i++) sent.push((await a.chat.send('alice', `m${i}`, `c${i}`)).message);
  await a.chat.delete('alice', sent[30]!.id);
  await a.chat.delete('alice', sent[39]!.id);

  const late = await openNode(t, redis, { capacity: 16 });
  assert.equal(late.chat.cursor, a.chat.cursor);
  assert.deepEqual(late.chat.history(undefined, 100), a.chat.history(undefined, 100));
  assert.deepEqual(late.chat.changesAfter(35, 100), a.chat.changesAfter(35, 100));
  assert.deepEqual(late.chat.liveChangesAfter(0, 100), a.chat.liveChangesAfter(0, 100));
  assert.equal(late.chat.liveChangesAfter(0, 100).missed, true, 'the ring keeps 16 changes, as configured');
  // The late node knows the clientIds of the window too.
  const retry = await late.chat.send('alice', 'm38', 'c38');
  assert.deepEqual(retry, { message: sent[38], duplicate: true });
});

test('a node that starts after the first message was deleted tells no client to reload: the missing entry is a deletion, not a trim', async (t) => {
  const redis = await redisFor(t);
  const a = await openNode(t, redis);
  const { message } = await a.chat.send('alice', 'regret', undefined);
  await a.chat.delete('alice', message.id);
  const kept = await a.chat.send('alice', 'keep', undefined);

  // The stream now begins at the deletion's entry: message 1's entry is gone (XDEL).
  const late = await openNode(t, redis);
  assert.equal(late.chat.cursor, kept.message.id);
  for (const cursor of [0, message.id, message.id + 1]) {
    assert.equal(late.chat.changesAfter(cursor, 100).reset, undefined, `cursor ${cursor}`);
    assert.deepEqual(late.chat.changesAfter(cursor, 100), a.chat.changesAfter(cursor, 100), `cursor ${cursor}`);
    assert.deepEqual(late.chat.liveChangesAfter(cursor, 100), a.chat.liveChangesAfter(cursor, 100), `cursor ${cursor}`);
  }
  assert.deepEqual(late.chat.changesAfter(0, 100), { messages: [kept.message], deleted: [], last: kept.message.id });
  assert.deepEqual(late.chat.changesAfter(message.id, 100).deleted, [message.id], 'a client that saw the message learns of its deletion');
  assert.ok(!late.events.includes('stream-trimmed-past-node'));
});

test('with Redis gone, writes fail at once and reads go on; after a restart nothing acknowledged is lost', async (t) => {
  const redis = await redisFor(t);
  const a = await openNode(t, redis);
  const b = await openNode(t, redis);
  const alice = await a.chat.login('alice');
  assert.ok(await b.chat.lookup(alice.token), 'b has confirmed alice’s session once');
  const stranger = await a.chat.login('stranger');

  // Keep writing through both nodes while Redis dies: every acknowledged write must survive.
  const acknowledged: number[] = [];
  const acknowledgedBy = new Map<typeof a, number[]>([[a, []], [b, []]]);
  const refused: ApiError[] = [];
  let writing = true;
  const writer = async (node: typeof a, name: string) => {
    for (let i = 0; writing; i++) {
      try {
        const { message } = await node.chat.send(name, `${name} ${i}`, `${name}-${i}`);
        acknowledged.push(message.id);
        acknowledgedBy.get(node)!.push(message.id);
      } catch (error) {
        assert.ok(error instanceof ApiError, String(error));
        refused.push(error);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
  };
  const writers = [writer(a, 'alice'), writer(b, 'bob')];
  await until(() => acknowledged.length >= 20, 'some writes were acknowledged', 15_000);
  await redis.kill();
  await until(() => refused.length >= 4, 'writes are refused', 15_000);

  const started = performance.now();
  await assert.rejects(a.chat.send('alice', 'while down', 'down-1'), (error: unknown) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.code, 'UNAVAILABLE');
    assert.equal(error.status, 503);
    assert.match(error.message, /chat store \(Redis\) is unreachable/);
    assert.ok((error.details.retryAfter ?? 0) > 0);
    return true;
  });
  assert.ok(performance.now() - started < 500, 'refused at once, not after a timeout');
  await assert.rejects(b.chat.delete('bob', acknowledged[0]!), isApiError('UNAVAILABLE'));
  await assert.rejects(a.chat.login('newcomer'), isApiError('UNAVAILABLE'));
  for (const error of refused) assert.equal(error.code, 'UNAVAILABLE');

  // Reads come from each node's ring, which holds at least every write the node acknowledged
  // (maybe not the other node's last ones); a session the node confirmed before still works.
  for (const node of [a, b]) {
    const held = new Set(node.chat.changesAfter(0, 100_000).messages.map((m) => m.id));
    assert.deepEqual(acknowledgedBy.get(node)!.filter((id) => !held.has(id)), []);
  }
  assert.equal(b.chat.history(undefined, 5).messages.length, 5);
  assert.equal((await b.chat.lookup(alice.token))?.username, 'alice');
  await assert.rejects(b.chat.lookup(stranger.token), isApiError('UNAVAILABLE', /check your session/));
  assert.equal(await a.chat.isHealthy(), false);

  await redis.restart();
  await until(async () => (await a.chat.isHealthy()) && (await b.chat.isHealthy()), 'both nodes are healthy again', 15_000);
  writing = false;
  await Promise.all(writers);
  const after = await b.chat.send('bob', 'back', 'back-1');
  await untilCursor(a.chat, after.message.id);

  const late = await openNode(t, redis);
  const stored = new Set(late.chat.changesAfter(0, 100_000).messages.map((m) => m.id));
  const lost = acknowledged.filter((id) => !stored.has(id));
  assert.deepEqual(lost, [], 'every acknowledged message is in Redis after the restart');
  for (const node of [a, b]) assert.deepEqual(node.chat.changesAfter(0, 100_000), late.chat.changesAfter(0, 100_000));
  assert.ok(a.events.includes('redis-unreachable'));
});

test('a logout refused because Redis is unreachable changes nothing: the session goes on working on its node', async (t) => {
  const redis = await redisFor(t);
  const relay = await startRelay(redis);
  t.after(() => relay.close());
  const a = await openNode(t, relay, { nodeName: 'a' });
  const session = await a.chat.login('alice');
  assert.ok(await a.chat.lookup(session.token), 'a has confirmed the session once');

  relay.cut();
  await untilEvent(a, 'redis-unreachable', (fields) => fields.connection === 'commands');
  await assert.rejects(a.chat.logout(session.token), isApiError('UNAVAILABLE', /end your session/));
  assert.equal((await a.chat.lookup(session.token))?.username, 'alice', 'the refused logout did not drop the node’s copy');

  relay.restore();
  await until(() => a.chat.isHealthy(), 'the node is healthy again', 15_000);
  await a.chat.logout(session.token);
  assert.equal(await a.chat.lookup(session.token), undefined);
});

test('a logout while Redis is up also ends the copy another node keeps for outages', async (t) => {
  const redis = await redisFor(t);
  const a = await openNode(t, redis);
  const b = await openNode(t, redis);
  const session = await a.chat.login('alice');
  assert.ok(await b.chat.lookup(session.token));
  await a.chat.logout(session.token);
  // Redis writes the PUBLISH to b's subscription in the same pass that answers the logout, but
  // maybe after the answer; once it has answered a later command (this PING), the message is in
  // b's socket ahead of the close the kill causes, so b reads it before it sees Redis gone.
  assert.equal(await a.chat.isHealthy(), true);
  await redis.kill();
  await assert.rejects(b.chat.lookup(session.token), isApiError('UNAVAILABLE'));
});

test('a node refuses to start when Redis cannot be reached, with a sentence naming it', async (t) => {
  const redis = await redisFor(t);
  const url = redis.url;
  await redis.kill();
  const started = performance.now();
  await assert.rejects(
    ClusterChat.open({ url, capacity: 64, arenaBytes: 1 << 20, rateLimit: 0, connectTimeoutMs: 300 }),
    (error: unknown) => {
      assert.ok(error instanceof ClusterError);
      assert.match(error.message, new RegExp(`cannot reach Redis at ${url.replace(/[/.]/g, '\\$&')} within 0.3 s`));
      return true;
    },
  );
  assert.ok(performance.now() - started < 3000);
});

test('a stream that is not Parley’s stops the start with a sentence', async (t) => {
  const redis = await redisFor(t);
  const a = await openNode(t, redis);
  await a.chat.close();
  const { createClient } = await import('redis');
  const client = createClient({ url: redis.url });
  await client.connect();
  await client.del('parley:changes');
  await client.set('parley:changes', 'something else');
  await client.close();
  await assert.rejects(
    ClusterChat.open({ url: redis.url, capacity: 64, arenaBytes: 1 << 20, rateLimit: 0 }),
    (error: unknown) => error instanceof ClusterError && /is parley:changes a Parley stream\?/.test(error.message),
  );
});

test('a logout on one node ends the session on every node, so each can end the connections opened with it', async (t) => {
  const redis = await redisFor(t);
  const a = await openNode(t, redis, { nodeName: 'a' });
  const b = await openNode(t, redis, { nodeName: 'b' });
  const ended = { a: [] as string[], b: [] as string[] };
  const heard = new EventEmitter();
  const untilHeard = async (condition: () => boolean) => {
    while (!condition()) await once(heard, 'ended', { signal: AbortSignal.timeout(10_000) });
  };
  a.chat.onSessionEnded((hash) => {
    ended.a.push(hash);
    heard.emit('ended');
  });
  const stopListening = b.chat.onSessionEnded((hash) => {
    ended.b.push(hash);
    heard.emit('ended');
  });
  const session = await b.chat.login('alice');
  const other = await b.chat.login('bob');

  await a.chat.logout(session.token);
  await untilHeard(() => ended.b.length > 0);
  assert.deepEqual(ended.b, [hashToken(session.token)], 'B, where the session was made, ends it; bob’s goes on');
  assert.ok(ended.a.includes(hashToken(session.token)), 'the node that logged out ends it too');
  assert.ok(await b.chat.lookup(other.token));

  stopListening();
  await a.chat.logout(other.token);
  await untilHeard(() => ended.a.includes(hashToken(other.token)));
  assert.deepEqual(ended.b, [hashToken(session.token)]);
});

test('a node started with another --capacity than the cluster’s is refused with a sentence', async (t) => {
  const redis = await redisFor(t);
  await openNode(t, redis, { capacity: 1024 });
  await assert.rejects(
    ClusterChat.open({ url: redis.url, capacity: 2048, arenaBytes: 1 << 20, rateLimit: 0 }),
    (error: unknown) => {
      assert.ok(error instanceof ClusterError);
      assert.match(error.message, /runs with --capacity 2048, but the cluster keeps 1024 changes; start every node with --capacity 1024/);
      return true;
    },
  );
});

test('a node names itself in its events and in its Redis connections', async (t) => {
  const redis = await redisFor(t);
  const a = await openNode(t, redis, { nodeName: 'north-1' });
  assert.equal(a.log.find((entry) => entry.event === 'cluster-joined')?.fields.node, 'north-1');
  const admin = await adminClient(t, redis);
  const names = (await admin.clientList()).map((client) => client.name).filter((name) => name.startsWith('parley-'));
  assert.deepEqual(names.sort(), ['parley-north-1-commands', 'parley-north-1-follower', 'parley-north-1-logouts']);
});

test('a node stops promptly while Redis is unreachable or hung', async (t) => {
  for (const outage of ['killed', 'frozen'] as const) {
    const redis = await redisFor(t);
    const relay = await startRelay(redis);
    t.after(() => relay.close());
    const a = await openNode(t, relay, { nodeName: `a-${outage}`, commandTimeoutMs: 500 });
    const session = await a.chat.login('alice');
    if (outage === 'killed') {
      await relay.close(); // every connection drops and the node keeps trying to reconnect
      await Promise.all(['commands', 'follower', 'logouts'].map((role) => untilEvent(a, 'redis-unreachable', (fields) => fields.connection === role)));
    } else {
      redis.freeze();
      await assert.rejects(a.chat.lookup('x'.repeat(43)), isApiError('UNAVAILABLE'));
      void a.chat.logout(session.token).catch(() => {}); // a command still waiting for its answer
    }
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const closed = await Promise.race([
      a.chat.close().then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), 3000))),
    ]);
    clearTimeout(timer);
    assert.ok(closed && performance.now() - started < 1500, `${outage}: ${closed ? `closed after ${Math.round(performance.now() - started)} ms` : 'still closing after 3 s'}`);
    redis.thaw();
  }
});
