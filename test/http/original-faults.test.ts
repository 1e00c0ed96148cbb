// The original web server's faults (issue 3), one test each, so Parley provably has none.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer, type RunningServer } from '../helpers/server.js';
import { assertError, login, rawRequest, statusOf } from './support.js';

let server: RunningServer;
before(async () => {
  server = await startServer();
});
after(() => server.stop());

test('the cookie is not the username, and a forged username cookie is refused', async () => {
  const alice = await login(server.baseUrl, 'alice');
  assert.notEqual(alice.cookie.split('=')[1], 'alice');
  const forged = { headers: { cookie: 'parley_session=alice; username=alice; user=alice' } };
  await assertError(await fetch(`${server.baseUrl}/api/messages`, forged), 401, 'NOT_LOGGED_IN');
});

test('naming another user in the body does not let anyone delete their message', async () => {
  const alice = await login(server.baseUrl, 'alice');
  const mallory = await login(server.baseUrl, 'mallory');
  const sent = await alice.send('mine alone');
  const response = await mallory.fetch(`/api/messages/${sent.id}`, {
    method: 'DELETE',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user: 'alice', username: 'alice' }),
  });
  await assertError(response, 403, 'FORBIDDEN');
  const still = (await (await alice.fetch(`/api/messages?last=${sent.id - 1}`)).json()) as { messages: unknown[] };
  assert.deepEqual(still.messages, [sent]);
});

test('GET /../../etc/hostname does not return the file', async () => {
  const { text } = await rawRequest(server.httpPort, 'GET /../../etc/hostname HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.equal(statusOf(text), 404);
});

test('a request larger than 1,024 bytes is read whole', async () => {
  const alice = await login(server.baseUrl, 'alice');
  const text = `${'long message '.repeat(300)}end`;
  const sent = await alice.send(text);
  assert.equal(sent.text, text);
});

test('the documented DELETE /api/messages/ID works (204, not 500)', async () => {
  const alice = await login(server.baseUrl, 'alice');
  const sent = await alice.send('delete me');
  const response = await alice.fetch(`/api/messages/${sent.id}`, { method: 'DELETE' });
  assert.equal(response.status, 204);
});

test('GET /api/messages returns message objects, not double-encoded JSON strings', async () => {
  const alice = await login(server.baseUrl, 'alice');
  await alice.send('plain object please');
  const body = (await (await alice.fetch('/api/messages')).json()) as { messages: unknown[] };
  assert.ok(body.messages.length > 0);
  for (const message of body.messages) assert.equal(typeof message, 'object');
});
