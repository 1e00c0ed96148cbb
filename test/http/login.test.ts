// Sessions by cookie: POST/GET/DELETE /api/login, the cookie's flags, and that a session
// ended by logout is dead everywhere.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RawClient } from '../helpers/tcp-client.js';
import { assertError, login, postJson, SseReader, start } from './support.js';

test('POST /api/login answers the username and sets an HttpOnly, SameSite=Strict session cookie', async (t) => {
  const server = await start(t);
  const response = await fetch(`${server.baseUrl}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: '  Zoë  ' }),
  });
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { username: 'Zoë' });
  const cookies = response.headers.getSetCookie();
  assert.equal(cookies.length, 1);
  const [pair, ...attributes] = cookies[0]!.split(';').map((part) => part.trim());
  const [name, token] = pair!.split('=');
  assert.equal(name, 'parley_session');
  assert.ok(token!.length >= 22, 'an unguessable token, not the username');
  assert.ok(!token!.includes('Zo'), 'the cookie is not the username');
  assert.deepEqual(new Set(attributes.map((a) => a.toLowerCase())), new Set(['path=/', 'httponly', 'samesite=strict']));
});

test('the cookie is marked Secure with --secure-cookies', async (t) => {
  const server = await start(t, { args: ['--secure-cookies'] });
  const response = await fetch(`${server.baseUrl}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"username":"alice"}',
  });
  assert.match(response.headers.getSetCookie()[0]!, /;\s*Secure/i);
  const logout = await fetch(`${server.baseUrl}/api/login`, { method: 'DELETE' });
  assert.match(logout.headers.getSetCookie()[0]!, /;\s*Secure/i);
});

test('an invalid username is refused with 400 INVALID_USERNAME and a reason', async (t) => {
  const server = await start(t);
  const cases: unknown[] = ['', '   ', 'x'.repeat(33), 'a\u202eb', 'tab\there', 42, null];
  for (const username of cases) {
    const response = await fetch(`${server.baseUrl}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username }),
    });
    await assertError(response, 400, 'INVALID_USERNAME');
  }
  const missing = await fetch(`${server.baseUrl}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  await assertError(missing, 400, 'INVALID_USERNAME');
});

test('GET /api/login restores the session after a reload, and is 401 without one', async (t) => {
  const server = await start(t);
  const alice = await login(server.baseUrl, 'alice');
  const again = await alice.fetch('/api/login');
  assert.equal(again.status, 200);
  assert.deepEqual(await again.json(), { username: 'alice' });
  await assertError(await fetch(`${server.baseUrl}/api/login`), 401, 'NOT_LOGGED_IN');
  await assertError(await fetch(`${server.baseUrl}/api/login`, { headers: { cookie: 'parley_session=forged' } }), 401, 'NOT_LOGGED_IN');
});

test('DELETE /api/login answers 204, clears the cookie and ends the session everywhere', async (t) => {
  const server = await start(t);
  const alice = await login(server.baseUrl, 'alice');
  const token = alice.cookie.split('=')[1]!;
  const stream = await SseReader.open(alice);

  const response = await alice.fetch('/api/login', { method: 'DELETE' });
  assert.equal(response.status, 204);
  const cleared = response.headers.getSetCookie()[0]!;
  assert.match(cleared, /^parley_session=;/);
  assert.match(cleared, /Max-Age=0/i);

  await stream.ended; // an open stream of the session ends with it
  await assertError(await alice.fetch('/api/login'), 401, 'NOT_LOGGED_IN');
  await assertError(await alice.fetch('/api/messages'), 401, 'NOT_LOGGED_IN');
  await assertError(await postJson(alice, '/api/messages', { text: 'after logout' }), 401, 'NOT_LOGGED_IN');
  // The same token is dead on TCP too.
  const tcp = await RawClient.connect(server.tcpPort);
  const resumed = await tcp.request('resume', { token });
  assert.equal(resumed.ok, false);
  tcp.close();
  // Logging out again, or without a session, is still 204.
  assert.equal((await alice.fetch('/api/login', { method: 'DELETE' })).status, 204);
});

test('logging in again from the same browser replaces the old session', async (t) => {
  const server = await start(t);
  const first = await login(server.baseUrl, 'alice');
  const second = await postJson(first, '/api/login', { username: 'alice2' });
  assert.equal(second.status, 200);
  await assertError(await first.fetch('/api/login'), 401, 'NOT_LOGGED_IN');
});

test('a session made over TCP works as a cookie over HTTP', async (t) => {
  const server = await start(t);
  const tcp = await RawClient.connect(server.tcpPort);
  const reply = await tcp.login('tcpuser');
  const response = await fetch(`${server.baseUrl}/api/login`, { headers: { cookie: `parley_session=${reply.token}` } });
  assert.deepEqual(await response.json(), { username: 'tcpuser' });
  tcp.close();
});
