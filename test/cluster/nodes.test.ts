// Real Parley processes in cluster mode: two nodes on one redis-server, reached the way users
// reach them (a browser-like HTTP client with SSE, and the TCP protocol), plus a third node that
// starts late.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { hashToken } from '../../server/chat/session-token.js';
import { startRedis, type RunningRedis } from '../helpers/redis.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { RawClient, type Frame } from '../helpers/tcp-client.js';
import { adminClient, WebClient } from './support.js';
import { until } from '../helpers/until.js';

let redis: RunningRedis;
let a: RunningServer;
let b: RunningServer;

const clusterArgs = (url: string) => ['--cluster', url, '--workers', '0'];

before(async () => {
  redis = await startRedis();
  [a, b] = await Promise.all([startServer({ args: clusterArgs(redis.url) }), startServer({ args: clusterArgs(redis.url) })]);
});
after(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await redis?.stop();
});

test('a web client on node A and a TCP client on node B see each other’s messages and deletions in order', async (t) => {
  const web = await WebClient.login(a.baseUrl, 'webby');
  const feed = await web.events(t);
  const terminal = await RawClient.connect(b.tcpPort);
  t.after(() => terminal.close());
  await terminal.login('terminal');
  assert.equal((await terminal.request('subscribe')).ok, true);

  const posted = await web.json('POST', '/api/messages', { text: 'from the web, on A' });
  assert.equal(posted.status, 201);
  const pushed = await terminal.next((f) => f.event === 'message');
  assert.deepEqual(pushed, { event: 'message', cursor: posted.body.id, message: posted.body });

  const reply = await terminal.request('send', { text: 'from the terminal, on B' });
  assert.equal(reply.ok, true);
  const event = await feed.next((e) => e.event === 'message' && e.data.id === reply.message.id);
  assert.deepEqual(event.data, reply.message);
  assert.equal(event.id, String(reply.message.id));

  assert.equal((await web.json('DELETE', `/api/messages/${reply.message.id}`)).status, 403);
  assert.equal((await web.json('DELETE', `/api/messages/${posted.body.id}`)).status, 204);
  const deletion = await terminal.next((f) => f.event === 'delete');
  assert.equal(deletion.id, posted.body.id);
  const removed = await terminal.request('delete', { messageId: reply.message.id });
  assert.equal(removed.ok, true);
  const deleteEvent = await feed.next((e) => e.event === 'delete' && e.data.id === reply.message.id);
  await terminal.next((f) => f.event === 'delete' && f.id === reply.message.id);
  assert.deepEqual([deleteEvent.id, deleteEvent.data], [String(removed.cursor), { id: reply.message.id }]);

  // Both saw the same four changes in the same order.
  const tcpCursors = terminal.frames.filter((f) => f.event === 'message' || f.event === 'delete').map((f) => f.cursor as number);
  const sseCursors = feed.events.map((e) => Number(e.id));
  assert.deepEqual(tcpCursors, [posted.body.id, reply.message.id, deletion.cursor, removed.cursor]);
  assert.deepEqual(sseCursors, tcpCursors);
});

test('a session made on A works on B, and a logout on B ends it on A', async () => {
  const onA = await WebClient.login(a.baseUrl, 'roamer');
  const onB = onA.on(b.baseUrl);
  const whoami = await onB.json('GET', '/api/login');
  assert.deepEqual([whoami.status, whoami.body], [200, { username: 'roamer' }]);
  assert.equal((await onB.json('POST', '/api/messages', { text: 'sent on B with a cookie from A' })).status, 201);
  assert.equal((await onB.json('DELETE', '/api/login')).status, 204);
  const after = await onA.json('GET', '/api/messages');
  assert.equal(after.status, 401);
  assert.equal(after.body.code, 'NOT_LOGGED_IN');

  // The same for the TCP protocol's tokens.
  const first = await RawClient.connect(a.tcpPort);
  const { token } = await first.login('tcp-roamer');
  const second = await RawClient.connect(b.tcpPort);
  assert.deepEqual((await second.request('resume', { token })).username, 'tcp-roamer');
  assert.equal((await second.request('logout')).ok, true);
  const third = await RawClient.connect(a.tcpPort);
  const refused = await third.request('resume', { token });
  assert.equal(refused.error.code, 'NOT_LOGGED_IN');
  for (const client of [first, second, third]) client.close();
});

test('a logout on node A ends that session’s live connections on node B at once', async (t) => {
  const terminal = await RawClient.connect(b.tcpPort);
  t.after(() => terminal.close());
  const { token } = await terminal.login('everywhere');
  assert.equal((await terminal.request('subscribe')).ok, true);
  const browser = new WebClient(b.baseUrl, `parley_session=${token}`);
  const feed = await browser.events(t);

  const elsewhere = new WebClient(a.baseUrl, `parley_session=${token}`);
  assert.equal((await elsewhere.json('DELETE', '/api/login')).status, 204);

  const ended = await terminal.next((f) => f.event === 'session-ended');
  assert.match(ended.reason, /log in again/);
  assert.equal((await terminal.request('send', { text: 'after the logout' })).error.code, 'NOT_LOGGED_IN');
  const logout = await feed.next((e) => e.event === 'logout');
  assert.match(String((logout.data as { reason: string }).reason), /log in again/);
});

test('a client switching nodes resumes from its cursor with no gap or duplicate', async (t) => {
  const writer = await RawClient.connect(a.tcpPort);
  t.after(() => writer.close());
  await writer.login('writer');
  const start = (await writer.request('history', { limit: 1 })).last as number;
  const sent: number[] = [];
  const write = async (count: number) => {
    for (let i = 0; i < count; i++) sent.push((await writer.request('send', { text: `n${sent.length}` })).message.id);
  };
  await write(10);

  // HTTP: a page from A, the rest from B while writes keep coming.
  const reader = await WebClient.login(a.baseUrl, 'reader');
  const firstPage = await reader.json('GET', `/api/messages?last=${start}&limit=4`);
  const seen: number[] = firstPage.body.messages.map((m: { id: number }) => m.id);
  let cursor = firstPage.body.last as number;
  const writing = write(20);
  const onB = reader.on(b.baseUrl);
  while (seen.length < 30) {
    const page = await onB.json('GET', `/api/messages?last=${cursor}&limit=3&wait=5`);
    assert.equal(page.status, 200);
    seen.push(...page.body.messages.filter((m: { user: string }) => m.user === 'writer').map((m: { id: number }) => m.id));
    cursor = page.body.last;
  }
  await writing;
  assert.deepEqual(seen, sent);

  // TCP: subscribed on A until the tenth message, then reconnected to B with that cursor.
  const watcher = await RawClient.connect(a.tcpPort);
  await watcher.login('watcher');
  await watcher.request('subscribe', { last: start });
  const tenth = await watcher.next((f) => f.event === 'message' && f.message.id === sent[9]);
  watcher.close();
  const moved = await RawClient.connect(b.tcpPort);
  t.after(() => moved.close());
  await moved.login('watcher');
  await moved.request('subscribe', { last: tenth.cursor });
  await write(5);
  await moved.next((f) => f.event === 'message' && f.message.id === sent.at(-1));
  const messageIds = (frames: Frame[]) => frames.filter((f) => f.event === 'message').map((f) => f.message.id as number);
  const beforeSwitch = messageIds(watcher.frames).filter((id) => id <= tenth.cursor);
  assert.deepEqual(beforeSwitch.concat(messageIds(moved.frames)), sent, 'A’s pushes up to the switch, then B’s, each message once');
});

test('a resend with the same clientId through another node is never a duplicate', async () => {
  const onA = await WebClient.login(a.baseUrl, 'retrier');
  const first = await onA.json('POST', '/api/messages', { text: 'exactly once', clientId: 'k-1' });
  const retried = await onA.on(b.baseUrl).json('POST', '/api/messages', { text: 'exactly once', clientId: 'k-1' });
  assert.deepEqual([first.status, retried.status], [201, 200]);
  assert.deepEqual(retried.body, first.body);
  const tcp = await RawClient.connect(b.tcpPort);
  await tcp.login('retrier');
  const again = await tcp.request('send', { text: 'exactly once', clientId: 'k-1' });
  assert.deepEqual([again.duplicate, again.message], [true, first.body]);
  tcp.close();
  const history = await onA.json('GET', '/api/messages?limit=1000');
  assert.equal(history.body.messages.filter((m: { text: string }) => m.text === 'exactly once').length, 1);
});

test('a node started after the messages were sent catches up from the stream', async (t) => {
  const web = await WebClient.login(a.baseUrl, 'early');
  for (let i = 0; i < 5; i++) assert.equal((await web.json('POST', '/api/messages', { text: `early ${i}` })).status, 201);
  const late = await startServer({ args: clusterArgs(redis.url) });
  t.after(() => late.stop());
  const onLate = web.on(late.baseUrl);
  const [fromA, fromLate] = await Promise.all([web.json('GET', '/api/messages?limit=1000'), onLate.json('GET', '/api/messages?limit=1000')]);
  assert.equal(fromLate.status, 200);
  assert.deepEqual(fromLate.body, fromA.body);
  assert.equal((await onLate.json('GET', '/api/health')).status, 200);
});

test('an SSE stream that reconnects to the other node with Last-Event-ID goes on with no gap or duplicate', async (t) => {
  const web = await WebClient.login(a.baseUrl, 'streamer');
  const writer = web.on(b.baseUrl);
  const first = await web.events(t);
  const sent: number[] = [];
  for (let i = 0; i < 3; i++) sent.push((await writer.json('POST', '/api/messages', { text: `before the switch ${i}` })).body.id);
  const seen = await first.next((e) => e.event === 'message' && e.data.id === sent[2]);
  first.close();

  // Sent while no stream is open: the reconnected stream must deliver them.
  for (let i = 0; i < 2; i++) sent.push((await writer.json('POST', '/api/messages', { text: `between ${i}` })).body.id);
  // The way a browser's EventSource reconnects: the same URL, plus the last id it saw.
  const second = await web.on(b.baseUrl).events(t, undefined, seen.id);
  for (let i = 0; i < 2; i++) sent.push((await web.json('POST', '/api/messages', { text: `after the switch ${i}` })).body.id);
  await second.next((e) => e.event === 'message' && e.data.id === sent.at(-1));

  const ids = (events: typeof first.events) => events.filter((e) => e.event === 'message').map((e) => e.data.id as number);
  const beforeSwitch = ids(first.events).filter((id) => id <= Number(seen.id));
  assert.deepEqual(beforeSwitch.slice(-3).concat(ids(second.events)), sent);
  assert.equal(second.events.some((e) => e.event === 'reset'), false);
});

test('a session that expires in Redis is gone on every node', async (t) => {
  const web = await WebClient.login(a.baseUrl, 'expiring');
  const onB = web.on(b.baseUrl);
  assert.equal((await onB.json('GET', '/api/login')).status, 200);

  const admin = await adminClient(t, redis);
  const keys = await admin.keys('parley:session:*');
  const ttls = await Promise.all(keys.map((key) => admin.ttl(key)));
  const thirtyDays = 30 * 24 * 60 * 60;
  assert.ok(ttls.length > 0 && ttls.every((ttl) => ttl > thirtyDays - 60 && ttl <= thirtyDays), `every session expires in 30 days: ${ttls}`);

  // Expire this one now, as 30 idle days would.
  const token = decodeURIComponent(web.cookie.split('=')[1]!);
  assert.equal(await admin.pExpire(`parley:session:${hashToken(token)}`, 1), 1);
  await until(async () => (await admin.exists(`parley:session:${hashToken(token)}`)) === 0, 'Redis dropped the session', 15_000);
  for (const client of [web, onB]) {
    const answer = await client.json('GET', '/api/messages');
    assert.deepEqual([answer.status, answer.body.code], [401, 'NOT_LOGGED_IN']);
  }
});
