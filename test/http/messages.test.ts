// GET/POST /api/messages and DELETE /api/messages/ID: history, changes after a cursor, paging,
// long-poll, idempotent sends, and who may delete what.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer, type RunningServer } from '../helpers/server.js';
import { assertError, connectedClients, login, postJson, type User } from './support.js';
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

interface ChangeSet {
  messages: Array<{ id: number; user: string; text: string; time: string }>;
  deleted: number[];
  last: number;
}

async function changes(user: User, query: string): Promise<ChangeSet> {
  const response = await user.fetch(`/api/messages${query}`);
  assert.equal(response.status, 200, await response.clone().text());
  assert.equal(response.headers.get('cache-control'), 'no-store');
  return (await response.json()) as ChangeSet;
}

test('POST /api/messages answers 201 with the stored message', async () => {
  const response = await postJson(alice, '/api/messages', { text: 'hello' });
  assert.equal(response.status, 201);
  const message = (await response.json()) as ChangeSet['messages'][number];
  assert.deepEqual(Object.keys(message), ['id', 'user', 'text', 'time']);
  assert.ok(Number.isInteger(message.id) && message.id > 0);
  assert.equal(message.user, 'alice');
  assert.equal(message.text, 'hello');
  assert.match(message.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

test('a retried POST with the same clientId returns the original message with 200, never a duplicate', async () => {
  const first = await postJson(alice, '/api/messages', { text: 'once', clientId: 'retry-1' });
  assert.equal(first.status, 201);
  const original = await first.json();
  const retries = await Promise.all([1, 2, 3].map(() => postJson(alice, '/api/messages', { text: 'once', clientId: 'retry-1' })));
  for (const retry of retries) {
    assert.equal(retry.status, 200);
    assert.deepEqual(await retry.json(), original);
  }
  const all = await changes(alice, '?limit=1000');
  assert.equal(all.messages.filter((m) => m.text === 'once').length, 1);
  // The same clientId from another user is that user's own first send.
  const other = await postJson(bob, '/api/messages', { text: 'once', clientId: 'retry-1' });
  assert.equal(other.status, 201);
});

test('GET /api/messages returns the newest messages oldest first, as objects, with the cursor', async () => {
  const sent = [];
  for (let i = 0; i < 5; i++) sent.push(await alice.send(`history ${i}`));
  const page = await changes(bob, '');
  assert.ok(page.messages.length <= 100);
  assert.deepEqual(page.messages.slice(-5), sent);
  assert.deepEqual(page.deleted, []);
  assert.equal(page.last, sent[4]!.id);
  const ids = page.messages.map((m) => m.id);
  assert.deepEqual(ids, [...ids].sort((a, b) => a - b));

  const two = await changes(bob, '?limit=2');
  assert.deepEqual(two.messages, sent.slice(3));
  const older = await changes(bob, `?before=${sent[3]!.id}&limit=2`);
  assert.deepEqual(older.messages, sent.slice(1, 3));
});

test('GET /api/messages?last=C returns only what changed after C: new messages and deletions', async () => {
  const start = await changes(alice, '?limit=1');
  const c = start.last;
  const kept = await alice.send('kept');
  const doomed = await alice.send('doomed');
  const middle = await changes(bob, `?last=${c}`);
  assert.deepEqual(middle.messages, [kept, doomed]);
  assert.equal(middle.last, doomed.id);

  assert.equal((await alice.fetch(`/api/messages/${doomed.id}`, { method: 'DELETE' })).status, 204);
  const after = await changes(bob, `?last=${middle.last}`);
  assert.deepEqual(after.messages, []);
  assert.deepEqual(after.deleted, [doomed.id]);
  assert.ok(after.last > middle.last);

  const upToDate = await changes(bob, `?last=${after.last}`);
  assert.deepEqual(upToDate, { messages: [], deleted: [], last: after.last });
  // A message id is a valid cursor: "after this message". From there, `doomed` was made and
  // deleted, so a client at that cursor never saw it and hears of neither.
  const afterKept = await changes(bob, `?last=${kept.id}`);
  assert.deepEqual(afterKept, { messages: [], deleted: [], last: after.last });
  // ?limit bounds the changes returned; `last` then says where to continue.
  const limited = await changes(bob, `?last=${c}&limit=1`);
  assert.deepEqual(limited.messages, [kept]);
  assert.equal(limited.last, kept.id);
});

test('?wait long-polls: the answer comes as soon as a message is sent', async () => {
  const { last } = await changes(alice, '?limit=1');
  const started = Date.now();
  const polling = changes(bob, `?last=${last}&wait=20`);
  // The poll is parked on the server before the send: its answer must come from the wake-up.
  await until(async () => (await connectedClients(server, 'longpoll')) === 1, 'the long-poll to be parked');
  const sent = await alice.send('wake up');
  const answer = await polling;
  assert.deepEqual(answer.messages, [sent]);
  assert.equal(answer.last, sent.id);
  assert.ok(Date.now() - started < 10_000);
});

test('?wait long-polls wake on a deletion too', async () => {
  const sent = await alice.send('to delete while polled');
  const polling = changes(bob, `?last=${sent.id}&wait=20`);
  await until(async () => (await connectedClients(server, 'longpoll')) === 1, 'the long-poll to be parked');
  assert.equal((await alice.fetch(`/api/messages/${sent.id}`, { method: 'DELETE' })).status, 204);
  const answer = await polling;
  assert.deepEqual(answer.deleted, [sent.id]);
});

test('?wait answers empty with the same cursor when nothing changes in time', async () => {
  const { last } = await changes(alice, '?limit=1');
  const started = Date.now();
  const answer = await changes(bob, `?last=${last}&wait=0.5`);
  const took = Date.now() - started;
  assert.deepEqual(answer, { messages: [], deleted: [], last });
  assert.ok(took >= 450 && took < 5000, `waited ${took} ms`);
  assert.equal(await connectedClients(server, 'longpoll'), 0, 'the long-poll is no longer counted');
});

test('?wait answers at once when something already changed after the cursor', async () => {
  const sent = await alice.send('already there');
  const started = Date.now();
  const answer = await changes(bob, `?last=${sent.id - 1}&wait=30`);
  assert.ok(Date.now() - started < 2000);
  assert.deepEqual(answer.messages.at(-1), sent);
});

test('bad query values are refused with 400 and say what is allowed', async () => {
  for (const query of ['?limit=0', '?limit=1001', '?limit=abc', '?last=-1', '?last=1.5', '?last=', '?before=0', '?last=1&wait=31', '?last=1&wait=x', '?wait=5', '?last=1&before=5', '?last=%zz']) {
    const body = await assertError(await alice.fetch(`/api/messages${query}`), 400, 'BAD_REQUEST');
    assert.ok(body.error.length > 0, query);
  }
  const body = await assertError(await alice.fetch('/api/messages?limit=5000'), 400, 'BAD_REQUEST');
  assert.match(body.error, /limit must be a whole number from 1 to 1,000/);
});

test('cursors and ids of 16 digits up to 9,007,199,254,740,991 are accepted; larger ones are refused with that bound', async () => {
  assert.equal((await alice.fetch('/api/messages?last=1000000000000000')).status, 200);
  assert.equal((await alice.fetch('/api/messages?before=9007199254740991')).status, 200);
  await assertError(await alice.fetch('/api/messages/9007199254740991', { method: 'DELETE' }), 404, 'NOT_FOUND');
  for (const value of ['9007199254740992', '9007199254740993', '9999999999999999', '10000000000000000']) {
    const body = await assertError(await alice.fetch(`/api/messages?last=${value}`), 400, 'BAD_REQUEST');
    assert.match(body.error, /last must be a whole number from 0 to 9,007,199,254,740,991/, value);
  }
});

test('DELETE /api/messages/ID: 204 for your own, 403 for another user’s, 404 for none or already deleted', async () => {
  const mine = await alice.send('mine');
  await assertError(await bob.fetch(`/api/messages/${mine.id}`, { method: 'DELETE' }), 403, 'FORBIDDEN');
  const deleted = await alice.fetch(`/api/messages/${mine.id}`, { method: 'DELETE' });
  assert.equal(deleted.status, 204);
  assert.equal(await deleted.text(), '');
  await assertError(await alice.fetch(`/api/messages/${mine.id}`, { method: 'DELETE' }), 404, 'NOT_FOUND');
  await assertError(await alice.fetch('/api/messages/99999999', { method: 'DELETE' }), 404, 'NOT_FOUND');
  await assertError(await alice.fetch('/api/messages/abc', { method: 'DELETE' }), 400, 'BAD_REQUEST');
  await assertError(await alice.fetch('/api/messages/0', { method: 'DELETE' }), 400, 'BAD_REQUEST');
});

test('message text is checked: empty, too long and not a string are 400 with the limit named', async () => {
  await assertError(await postJson(alice, '/api/messages', { text: '   ' }), 400, 'TEXT_EMPTY');
  const long = await assertError(await postJson(alice, '/api/messages', { text: 'x'.repeat(4001) }), 400, 'TEXT_TOO_LONG');
  assert.match(long.error, /4,?000/);
  await assertError(await postJson(alice, '/api/messages', { text: 7 }), 400, 'BAD_REQUEST');
  await assertError(await postJson(alice, '/api/messages', { text: 'x', clientId: 'c'.repeat(65) }), 400, 'BAD_REQUEST');
});

test('every /api/messages and /api/events call needs a session: 401 without one', async () => {
  const anonymous = (path: string, init?: RequestInit) => fetch(`${server.baseUrl}${path}`, init);
  await assertError(await anonymous('/api/messages'), 401, 'NOT_LOGGED_IN');
  await assertError(await anonymous('/api/messages?last=0&wait=5'), 401, 'NOT_LOGGED_IN');
  await assertError(await anonymous('/api/messages', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"x"}' }), 401, 'NOT_LOGGED_IN');
  await assertError(await anonymous('/api/messages/1', { method: 'DELETE' }), 401, 'NOT_LOGGED_IN');
  await assertError(await anonymous('/api/events'), 401, 'NOT_LOGGED_IN');
});
