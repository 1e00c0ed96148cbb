// GET /api/events: Server-Sent Events with the cursor as event id, backlog then live, resume by
// Last-Event-ID without gap or duplicate, slow readers cut off, and a goodbye on shutdown.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { startServer, type RunningServer } from '../helpers/server.js';
import { RawClient } from '../helpers/tcp-client.js';
import { assertError, connectedClients, eventsIn, login, openRawStream, SseReader, start, type User } from './support.js';
import { until } from '../helpers/until.js';

let server: RunningServer;
let alice: User;
let bob: User;
before(async () => {
  server = await startServer();
  alice = await login(server.baseUrl, 'alice');
  bob = await login(server.baseUrl, 'bob');
});
after(() => server.stop());

/** Sends `count` messages over TCP in one write (pipelined) and waits until all are stored. */
async function sendMany(count: number, text: (i: number) => string, tcpPort = server.tcpPort): Promise<void> {
  const client = await RawClient.connect(tcpPort);
  await client.login('bulk');
  const frames = Array.from({ length: count }, (_, i) => JSON.stringify({ id: `bulk-${i}`, op: 'send', text: text(i) })).join('\n');
  client.sendRaw(`${frames}\n`);
  // Every reply: sends run concurrently, so the last one may be answered before the others.
  for (let i = 0; i < count; i++) {
    const reply = await client.next((f) => f.id === `bulk-${i}`, 60_000);
    assert.equal(reply.ok, true, JSON.stringify(reply));
  }
  client.close();
}

async function newest(user: User): Promise<number> {
  return ((await (await user.fetch('/api/messages?limit=1')).json()) as { last: number }).last;
}

test('the stream is text/event-stream, sets retry, and pushes message and delete events with their cursor as id', async () => {
  const stream = await SseReader.open(bob);
  assert.match(stream.response.headers.get('content-type')!, /^text\/event-stream/);
  assert.match(stream.response.headers.get('cache-control')!, /no-store/);
  assert.equal(stream.response.headers.get('x-content-type-options'), 'nosniff');
  const sent = await alice.send('live one');
  const message = await stream.next((e) => e.event === 'message');
  assert.equal(message.id, String(sent.id));
  assert.deepEqual(JSON.parse(message.data), sent);
  assert.ok(stream.retry !== undefined && stream.retry > 0, 'retry: is set');

  const deletion = await alice.fetch(`/api/messages/${sent.id}`, { method: 'DELETE' });
  assert.equal(deletion.status, 204);
  const deleted = await stream.next((e) => e.event === 'delete');
  assert.deepEqual(JSON.parse(deleted.data), { id: sent.id });
  assert.ok(Number(deleted.id) > sent.id, 'a deletion has its own, later cursor');
  assert.equal(Number(deleted.id), await newest(bob));
  stream.close();
});

test('?last=C replays what changed after C, then continues live, in cursor order', async () => {
  const seen = await alice.send('seen before C');
  const c = await newest(alice);
  const unseen = await alice.send('made and deleted after C');
  const m2 = await alice.send('backlog 2');
  await alice.fetch(`/api/messages/${unseen.id}`, { method: 'DELETE' });
  await alice.fetch(`/api/messages/${seen.id}`, { method: 'DELETE' });
  const stream = await SseReader.open(bob, `/api/events?last=${c}`);
  const first = await stream.next();
  const second = await stream.next();
  // `unseen` was deleted before this client could see it: neither it nor its deletion is sent
  // (the same rule as GET ?last=).
  assert.deepEqual([first.event, JSON.parse(first.data)], ['message', m2]);
  assert.equal(first.id, String(m2.id));
  assert.deepEqual([second.event, JSON.parse(second.data)], ['delete', { id: seen.id }]);
  assert.equal(Number(second.id), await newest(alice));
  const m3 = await alice.send('live after backlog');
  const third = await stream.next();
  assert.deepEqual(JSON.parse(third.data), m3);
  const ids = stream.events.map((e) => Number(e.id));
  assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
  assert.equal(new Set(ids).size, ids.length, 'no event twice');
  stream.close();
});

test('without a cursor the stream starts at the newest change and still sets Last-Event-ID', async () => {
  await alice.send('before the stream');
  const c = await newest(alice);
  const stream = await SseReader.open(bob);
  await stream.reach(c);
  assert.equal(stream.lastEventId, String(c));
  const sent = await alice.send('after the stream');
  const event = await stream.next();
  assert.deepEqual(JSON.parse(event.data), sent);
  assert.equal(stream.events.length, 1, 'nothing older was replayed');
  stream.close();
});

test('reconnecting with Last-Event-ID resumes with no gap and no duplicate (it wins over ?last=)', async () => {
  const start = await newest(alice);
  const first = await SseReader.open(bob, `/api/events?last=${start}`);
  const seen = [await alice.send('r1'), await alice.send('r2')];
  await first.next((e) => JSON.parse(e.data).text === 'r2');
  const resumeFrom = first.lastEventId;
  first.close();

  // Changes while disconnected: new messages and a deletion of one already seen.
  const missed = [await alice.send('r3'), await alice.send('r4')];
  await alice.fetch(`/api/messages/${seen[0]!.id}`, { method: 'DELETE' });
  const after = await alice.send('r5');

  // EventSource repeats the original URL and adds Last-Event-ID.
  const second = await SseReader.open(bob, `/api/events?last=${start}`, { 'last-event-id': resumeFrom });
  await second.reach(after.id);
  const texts = second.events.map((e) => (e.event === 'message' ? JSON.parse(e.data).text : `delete ${JSON.parse(e.data).id}`));
  assert.deepEqual(texts, ['r3', 'r4', `delete ${seen[0]!.id}`, 'r5']);
  assert.deepEqual(JSON.parse(second.events[0]!.data), missed[0]);
  second.close();
});

test('a backlog longer than a page arrives whole and in order', { timeout: 60_000 }, async () => {
  const c = await newest(alice);
  await sendMany(1300, (i) => `bulk ${i}`);
  const end = await newest(alice);
  const stream = await SseReader.open(bob, `/api/events?last=${c}`);
  await stream.reach(end, 30_000);
  const texts = stream.events.map((e) => JSON.parse(e.data).text);
  assert.equal(texts.length, 1300);
  assert.deepEqual(texts, Array.from({ length: 1300 }, (_, i) => `bulk ${i}`));
  stream.close();
});

test('a bad Last-Event-ID or ?last= is 400; no session is 401', async () => {
  await assertError(await bob.fetch('/api/events', { headers: { 'last-event-id': 'abc' } }), 400, 'BAD_REQUEST');
  await assertError(await bob.fetch('/api/events?last=-5'), 400, 'BAD_REQUEST');
  await assertError(await fetch(`${server.baseUrl}/api/events`), 401, 'NOT_LOGGED_IN');
});

test('SSE clients are counted while connected', async () => {
  const before = await connectedClients(server, 'sse');
  const streams = await Promise.all([SseReader.open(alice), SseReader.open(bob)]);
  assert.equal(await connectedClients(server, 'sse'), before + 2);
  for (const stream of streams) stream.close();
  await until(async () => (await connectedClients(server, 'sse')) === before, 'the streams to be uncounted');
});

test('a client that never reads its stream is cut off; a reading one gets everything', { timeout: 120_000 }, async () => {
  const reader = await SseReader.open(alice);
  const slow = connect({ port: server.httpPort, host: '127.0.0.1' });
  slow.on('error', () => {});
  await new Promise((resolve) => slow.once('connect', resolve));
  slow.write(`GET /api/events HTTP/1.1\r\nHost: x\r\nCookie: ${bob.cookie}\r\nAccept: text/event-stream\r\n\r\n`);
  await new Promise((resolve) => slow.once('data', resolve));
  slow.pause(); // from here on nothing is read: the kernel buffers fill, then the server's

  const slowConsumers = async () => {
    const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
    return Number(/^parley_slow_consumers_disconnected_total\{transport="sse"\} (\d+)$/m.exec(text)?.[1] ?? 0);
  };
  const cutBefore = await slowConsumers();
  const text = 'z'.repeat(4000);
  let sent = 0;
  while ((await slowConsumers()) === cutBefore) {
    assert.ok(sent < 20_000, 'the slow client was never cut off');
    await sendMany(500, () => text);
    sent += 500;
  }
  const end = await newest(alice);
  await reader.reach(end, 60_000);
  assert.equal(reader.events.length, sent, 'the reading client missed nothing');
  slow.destroy();
  reader.close();
});

test('on shutdown SSE clients get retry: and a goodbye event, long-polls their empty answer, and the process exits 0', { timeout: 30_000 }, async (t) => {
  const own = await start(t);
  const carol = await login(own.baseUrl, 'carol');
  const stream = await SseReader.open(carol);
  const last = ((await (await carol.fetch('/api/messages?limit=1')).json()) as { last: number }).last;
  const poll = carol.fetch(`/api/messages?last=${last}&wait=30`);
  await until(async () => (await connectedClients(own, 'longpoll')) === 1, 'the long-poll to be parked');
  const exit = own.stop();
  const answer = await poll;
  assert.equal(answer.status, 200);
  assert.deepEqual(await answer.json(), { messages: [], deleted: [], last });
  const goodbye = await stream.next((e) => e.event === 'goodbye');
  const body = JSON.parse(goodbye.data) as { reason: string; retryAfter: number };
  assert.equal(typeof body.reason, 'string');
  assert.ok(body.retryAfter > 0);
  assert.equal(stream.retry, body.retryAfter * 1000);
  await stream.ended;
  assert.equal(await exit, 0);
});

/** Streams cut off for not reading, as /metrics counts them. */
async function slowConsumers(own: RunningServer): Promise<number> {
  const text = await (await fetch(`${own.baseUrl}/metrics`)).text();
  return Number(/^parley_slow_consumers_disconnected_total\{transport="sse"\} (\d+)$/m.exec(text)?.[1] ?? 0);
}

test('a quiet stream gets a heartbeat comment every --sse-heartbeat seconds', async (t) => {
  const own = await start(t, { args: ['--memory', '--sse-heartbeat', '1'] });
  const carol = await login(own.baseUrl, 'carol');
  const stream = await SseReader.open(carol);
  await stream.comment('heartbeat', 5_000);
  assert.equal(stream.events.length, 0, 'a comment, not an event');
  stream.close();
});

test('a client that never reads is cut off while it is still catching up on a backlog', { timeout: 120_000 }, async (t) => {
  const own = await start(t, { args: ['--memory', '--sse-heartbeat', '1'] });
  const carol = await login(own.baseUrl, 'carol');
  const first = ((await (await carol.fetch('/api/messages?limit=1')).json()) as { last: number }).last;
  // 10 MB of events, far more than the socket buffers of both ends hold, in small messages:
  // a page is then well under the 1 MiB a live stream may leave unread.
  await sendMany(10_000, (i) => `${i} ${'c'.repeat(990)}`, own.tcpPort);
  const { socket } = await openRawStream(own.httpPort, carol.cookie, `/api/events?last=${first}`);
  socket.pause(); // from here on nothing is read
  await until(async () => (await slowConsumers(own)) === 1, 'the stream to be cut off', 30_000);
  await until(async () => (await connectedClients(own, 'sse')) === 0, 'the stream to be uncounted');
  socket.destroy();
});

test('a client that reads slowly gets a backlog of large messages whole, never cut off', { timeout: 120_000 }, async (t) => {
  const own = await start(t, { args: ['--memory', '--sse-heartbeat', '2'] });
  const carol = await login(own.baseUrl, 'carol');
  const first = ((await (await carol.fetch('/api/messages?limit=1')).json()) as { last: number }).last;
  const count = 600;
  // 12 KB each in UTF-8: 500 of them (a page by count) are 6 MB, well over the 1 MiB a live
  // stream may leave unread.
  await sendMany(count, (i) => `${i} ${'€'.repeat(3990)}`, own.tcpPort);
  const stored = (await (await carol.fetch(`/api/messages?last=${first}&limit=${count}`)).json()) as { messages: unknown[]; last: number };
  assert.equal(stored.messages.length, count);
  const end = stored.last;
  const { socket, received } = await openRawStream(own.httpPort, carol.cookie, `/api/events?last=${first}`);
  // About 1 MB/s: the backlog takes seconds, several heartbeats, to read.
  socket.on('data', () => {
    socket.pause();
    setTimeout(() => socket.resume(), 60);
  });
  let isClosed = false;
  socket.once('close', () => (isClosed = true));
  const isWhole = async () => {
    const text = Buffer.concat(received).toString('utf8');
    const at = text.indexOf(`id: ${end}\nevent: message\n`);
    return at !== -1 && text.includes('\n\n', at);
  };
  await until(async () => isClosed || (await isWhole()), 'the whole backlog', 90_000);
  assert.equal(await slowConsumers(own), 0, 'the reading client was cut off');
  assert.ok(await isWhole());
  socket.destroy();
  const events = await eventsIn(received);
  assert.equal(events.length, count);
  assert.deepEqual(events.map((e) => JSON.parse(e.data)), stored.messages);
});

test('logging out over TCP ends the session’s SSE streams at once with a logout event', async (t) => {
  const own = await start(t, { args: ['--memory'] });
  const client = await RawClient.connect(own.tcpPort);
  const { token } = await client.login('dave');
  const dave: User = { ...(await login(own.baseUrl, 'other')), username: 'dave', cookie: `parley_session=${token}` };
  dave.fetch = (path, init = {}) => fetch(`${own.baseUrl}${path}`, { ...init, headers: { cookie: dave.cookie, ...(init.headers as Record<string, string>) } });
  const stream = await SseReader.open(dave);
  const bystander = await SseReader.open(await login(own.baseUrl, 'erin'));
  assert.equal((await client.request('logout')).ok, true);
  const logout = await stream.next((e) => e.event === 'logout');
  const body = JSON.parse(logout.data) as { reason: string };
  assert.match(body.reason, /log/);
  await stream.ended;
  await assertError(await dave.fetch('/api/events'), 401, 'NOT_LOGGED_IN');
  // Other sessions' streams carry on.
  const erin = await login(own.baseUrl, 'erin');
  const sent = await erin.send('still here');
  assert.deepEqual(JSON.parse((await bystander.next()).data), sent);
  bystander.close();
  client.close();
});

test('logging out over HTTP ends the session’s streams and answers its waiting long-polls 401', async (t) => {
  const own = await start(t, { args: ['--memory'] });
  const frank = await login(own.baseUrl, 'frank');
  const stream = await SseReader.open(frank);
  const last = ((await (await frank.fetch('/api/messages?limit=1')).json()) as { last: number }).last;
  const poll = frank.fetch(`/api/messages?last=${last}&wait=30`);
  await until(async () => (await connectedClients(own, 'longpoll')) === 1, 'the long-poll to be parked');
  assert.equal((await frank.fetch('/api/login', { method: 'DELETE' })).status, 204);
  await assertError(await poll, 401, 'NOT_LOGGED_IN');
  await stream.next((e) => e.event === 'logout');
  await stream.ended;
});

test('over --max-clients a stream or long-poll gets 503 with Retry-After, and short requests are still served', async (t) => {
  const own = await start(t, { args: ['--memory', '--max-clients', '1'] });
  const gina = await login(own.baseUrl, 'gina');
  const stream = await SseReader.open(gina);
  await until(async () => (await connectedClients(own, 'sse')) === 1, 'the stream to be counted');
  const refused = await gina.fetch('/api/events');
  assert.equal(refused.headers.get('retry-after'), '5');
  await assertError(refused, 503, 'TOO_MANY_CONNECTIONS');
  const last = ((await (await gina.fetch('/api/messages?limit=1')).json()) as { last: number }).last;
  const poll = await gina.fetch(`/api/messages?last=${last}&wait=5`);
  assert.ok(Number(poll.headers.get('retry-after')) >= 1);
  await assertError(poll, 503, 'TOO_MANY_CONNECTIONS');
  assert.equal((await fetch(`${own.baseUrl}/api/health`)).status, 200);
  const henry = await login(own.baseUrl, 'henry');
  assert.equal((await henry.fetch('/api/login')).status, 200);
  stream.close();
});
