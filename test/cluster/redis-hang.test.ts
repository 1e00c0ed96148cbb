// A Redis that stops answering without closing anything (SIGSTOP on the test's own
// redis-server, the way a hung or overloaded Redis looks to a node), and connections that come
// back one at a time (a relay refusing one kind of connection).
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { ApiError } from '../../server/errors.js';
import { startRedis, startRelay, type RunningRedis } from '../helpers/redis.js';
import { adminClient, openNode, untilCursor, untilEvent } from './support.js';
import { until } from '../helpers/until.js';

async function redisFor(t: TestContext): Promise<RunningRedis> {
  const redis = await startRedis();
  t.after(() => redis.stop());
  return redis;
}

const BUDGET_MS = 1000;

function isUnavailable(message: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof ApiError, `expected an ApiError, got ${String(error)}`);
    assert.equal(error.code, 'UNAVAILABLE');
    assert.match(error.message, message);
    return true;
  };
}

/** The texts of every entry Redis holds. */
async function textsInRedis(t: TestContext, redis: RunningRedis): Promise<string[]> {
  const admin = await adminClient(t, redis);
  const entries = await admin.xRange('parley:changes', '-', '+');
  return entries.map((entry) => String(entry.message.text ?? ''));
}

test('a write refused because Redis hung is never stored when Redis resumes, and its resend is stored once', async (t) => {
  const redis = await redisFor(t);
  const a = await openNode(t, redis, { nodeName: 'a', commandTimeoutMs: BUDGET_MS });
  await a.chat.send('alice', 'before the hang', undefined);

  redis.freeze();
  // Both reach Redis, which holds them unread: without a deadline inside the script they would
  // run on SIGCONT and store messages their senders were told were not stored.
  const refused = await Promise.allSettled([a.chat.send('alice', 'sent into the hang', undefined), a.chat.send('alice', 'resent later', 'k-1')]);
  for (const outcome of refused) {
    assert.equal(outcome.status, 'rejected');
    isUnavailable(/did not answer in time/)(outcome.reason);
  }
  redis.thaw();
  await until(() => a.chat.isHealthy(), 'the node is healthy again', 15_000);

  const resent = await a.chat.send('alice', 'resent later', 'k-1');
  assert.equal(resent.duplicate, false, 'the first attempt was not stored');
  const again = await a.chat.send('alice', 'resent later', 'k-1');
  assert.deepEqual([again.duplicate, again.message], [true, resent.message]);

  const late = await openNode(t, redis, { nodeName: 'late' });
  await untilCursor(a.chat, resent.message.id);
  for (const node of [a, late]) {
    assert.deepEqual(node.chat.changesAfter(0, 100).messages.map((m) => m.text), ['before the hang', 'resent later']);
  }
  assert.deepEqual(await textsInRedis(t, redis), ['before the hang', 'resent later']);
});

test('checking a session and then writing waits for a hung Redis once, not twice', async (t) => {
  const redis = await redisFor(t);
  const a = await openNode(t, redis, { nodeName: 'a', commandTimeoutMs: BUDGET_MS });
  const session = await a.chat.login('alice');

  redis.freeze();
  t.after(() => redis.thaw());
  const started = performance.now();
  // What a request does: the session check falls back to this node's copy after the budget...
  assert.equal((await a.chat.lookup(session.token))?.username, 'alice');
  // ...and the write it makes is then refused at once instead of waiting a second budget.
  await assert.rejects(a.chat.send('alice', 'in the same request', undefined), isUnavailable(/did not answer in time/));
  const elapsed = performance.now() - started;
  assert.ok(elapsed < BUDGET_MS * 1.6, `answered after ${Math.round(elapsed)} ms; the budget is ${BUDGET_MS} ms`);
  assert.equal(await a.chat.isHealthy(), false);
  redis.thaw();
  await until(() => a.chat.isHealthy(), 'the node is healthy again', 15_000);
  assert.equal((await a.chat.send('alice', 'after', undefined)).duplicate, false);
});

test('the stream reader drops a connection that stays silent past its blocking read, and reads on after', async (t) => {
  const redis = await redisFor(t);
  const a = await openNode(t, redis, { nodeName: 'a', followBlockMs: 200 });
  redis.freeze();
  // No byte comes back and nothing closes: only the reader's own deadline notices (TCP
  // keepalive would take minutes).
  await untilEvent(a, 'redis-unreachable', (fields) => fields.connection === 'follower', { timeoutMs: 10_000 });
  redis.thaw();
  await until(() => a.chat.isHealthy(), 'the node is healthy again', 15_000);
  const { message } = await a.chat.send('alice', 'after the hang', undefined);
  assert.equal(a.chat.changesAfter(0, 10).messages.at(-1)?.id, message.id);
});

test('while only the logout subscription is back, sessions this node confirmed keep working', async (t) => {
  const redis = await redisFor(t);
  const relay = await startRelay(redis);
  t.after(() => relay.close());
  const a = await openNode(t, relay, { nodeName: 'a' });
  const session = await a.chat.login('alice');
  assert.ok(await a.chat.lookup(session.token));

  // Every connection drops; the command connection stays away while the others come back.
  relay.refuseNamed(/-commands$/);
  await untilEvent(a, 'redis-reconnected', (fields) => fields.connection === 'logouts');
  assert.equal((await a.chat.lookup(session.token))?.username, 'alice', 'a reader is not refused in the middle of a recovery');

  relay.refuseNamed(null);
  await until(() => a.chat.isHealthy(), 'the node is healthy again', 15_000);
  assert.equal((await a.chat.lookup(session.token))?.username, 'alice');
  await a.chat.logout(session.token);
  assert.equal(await a.chat.lookup(session.token), undefined);
});

test('a write stored while the node’s stream reader was cut off is answered “stored”, and its resend returns the original', async (t) => {
  const redis = await redisFor(t);
  const relay = await startRelay(redis);
  t.after(() => relay.close());
  const a = await openNode(t, relay, { nodeName: 'a', commandTimeoutMs: BUDGET_MS });
  await a.chat.send('alice', 'before', undefined);

  // The reader's connection stays away; the command connection comes back and can write.
  relay.refuseNamed(/-follower$/);
  await untilEvent(a, 'redis-reconnected', (fields) => fields.connection === 'commands');
  await assert.rejects(a.chat.send('alice', 'stored unseen', 'k-2'), isUnavailable(/that was stored, but/));

  relay.refuseNamed(null);
  await until(() => a.chat.isHealthy(), 'the node is healthy again', 15_000);
  const resent = await a.chat.send('alice', 'stored unseen', 'k-2');
  assert.equal(resent.duplicate, true);
  assert.deepEqual(a.chat.changesAfter(0, 100).messages.map((m) => m.text), ['before', 'stored unseen']);
  assert.deepEqual(a.chat.changesAfter(0, 100).messages[1], resent.message);
});

test('a command left unanswered on a half-open connection is given up on, so writes work again once a new connection is up', async (t) => {
  const redis = await redisFor(t);
  const relay = await startRelay(redis);
  t.after(() => relay.close());
  const a = await openNode(t, relay, { nodeName: 'a', commandTimeoutMs: BUDGET_MS, followBlockMs: 500 });
  await a.chat.send('alice', 'before', undefined);

  // Redis's host is gone without a word: the open connections carry nothing and never close
  // (TCP keepalive would take minutes), while a new connection would be answered.
  const since = a.log.length;
  relay.silence();
  await assert.rejects(a.chat.send('alice', 'into the silence', undefined), isUnavailable(/did not answer in time/));
  await untilEvent(a, 'redis-unreachable', (fields) => fields.connection === 'commands', { since });
  await untilEvent(a, 'redis-reconnected', (fields) => fields.connection === 'commands', { since });
  await until(() => a.chat.isHealthy(), 'the node is healthy again', 15_000);
  const { message } = await a.chat.send('alice', 'after the silence', undefined);
  assert.deepEqual(a.chat.changesAfter(0, 10).messages.map((m) => m.text), ['before', 'after the silence']);
  assert.equal(a.chat.changesAfter(0, 10).messages.at(-1)?.id, message.id);
});

test('a write whose answer comes back after its budget is answered “could not confirm”, and its resend with the same clientId is no duplicate', async (t) => {
  const redis = await redisFor(t);
  const relay = await startRelay(redis);
  t.after(() => relay.close());
  const a = await openNode(t, relay, { nodeName: 'a', commandTimeoutMs: BUDGET_MS });
  await a.chat.send('alice', 'before', undefined);

  // Redis runs the script at once; only its answer is slow to come back, as when Redis gets busy
  // right after the script started. The node cannot know it was stored, so it must not say it was not.
  relay.holdReplies();
  await assert.rejects(
    a.chat.send('alice', 'answered late', 'k-4'),
    isUnavailable(/could not confirm that it stored your message; .*a resend with the same clientId is never a duplicate/),
  );
  relay.releaseReplies();
  assert.deepEqual(await textsInRedis(t, redis), ['before', 'answered late']);
  await until(() => a.chat.isHealthy(), 'the node is healthy again', 15_000);
  const resent = await a.chat.send('alice', 'answered late', 'k-4');
  assert.equal(resent.duplicate, true);
  assert.deepEqual(a.chat.changesAfter(0, 10).messages.map((m) => m.text), ['before', 'answered late']);
});

test('a deletion whose answer comes back after its budget is answered “could not confirm” with a deletion’s advice, and its retry says it is gone', async (t) => {
  const redis = await redisFor(t);
  const relay = await startRelay(redis);
  t.after(() => relay.close());
  const a = await openNode(t, relay, { nodeName: 'a', commandTimeoutMs: BUDGET_MS });
  const { message } = await a.chat.send('alice', 'regret', undefined);
  // Redis knows the delete script after one use (the first is an EVALSHA refused with NOSCRIPT,
  // then the EVAL, which a held-back refusal would delay past the deadline).
  await a.chat.delete('alice', (await a.chat.send('alice', 'warm-up', undefined)).message.id);

  relay.holdReplies();
  await assert.rejects(a.chat.delete('alice', message.id), (error: unknown) => {
    isUnavailable(/could not confirm that it deleted that message; .*the retry answers that the message is already deleted/)(error);
    assert.doesNotMatch((error as Error).message, /clientId/, 'a deletion has no clientId');
    return true;
  });
  relay.releaseReplies();
  await until(() => a.chat.isHealthy(), 'the node is healthy again', 15_000);
  await assert.rejects(a.chat.delete('alice', message.id), (error: unknown) => error instanceof ApiError && error.code === 'NOT_FOUND' && /already deleted/.test(error.message));
});
