// One chat over both edges: a message or deletion made over HTTP reaches TCP subscribers at
// once, and one made over TCP reaches HTTP polling, long-polling and SSE clients.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer, type RunningServer } from '../helpers/server.js';
import { RawClient } from '../helpers/tcp-client.js';
import { connectedClients, login, SseReader, type User } from './support.js';
import { until } from '../helpers/until.js';

let server: RunningServer;
let web: User;
let tcp: RawClient;
before(async () => {
  server = await startServer();
  web = await login(server.baseUrl, 'webuser');
  tcp = await RawClient.connect(server.tcpPort);
  await tcp.login('tcpuser');
  await tcp.request('subscribe');
});
after(async () => {
  tcp.close();
  await server.stop();
});

test('a message sent over HTTP is pushed to a TCP subscriber, and its deletion too', async () => {
  const sent = await web.send('from the web');
  const push = await tcp.next((f) => f.event === 'message' && f.message.id === sent.id);
  assert.deepEqual(push, { event: 'message', cursor: sent.id, message: sent });
  assert.equal((await web.fetch(`/api/messages/${sent.id}`, { method: 'DELETE' })).status, 204);
  const deletion = await tcp.next((f) => f.event === 'delete' && f.id === sent.id);
  assert.ok(deletion.cursor > sent.id);
});

test('a message sent over TCP reaches HTTP polling, long-polling and SSE clients', async () => {
  const { last } = (await (await web.fetch('/api/messages?limit=1')).json()) as { last: number };
  const stream = await SseReader.open(web, `/api/events?last=${last}`);
  const longPoll = web.fetch(`/api/messages?last=${last}&wait=20`).then((r) => r.json());
  await until(async () => (await connectedClients(server, 'longpoll')) === 1, 'the long-poll to be parked');

  const reply = await tcp.request('send', { text: 'from the terminal' });
  assert.equal(reply.ok, true);
  const message = reply.message as { id: number };

  assert.deepEqual(((await longPoll) as { messages: unknown[] }).messages, [message]);
  const event = await stream.next((e) => e.event === 'message');
  assert.deepEqual(JSON.parse(event.data), message);
  const polled = (await (await web.fetch(`/api/messages?last=${last}`)).json()) as { messages: unknown[] };
  assert.deepEqual(polled.messages, [message]);

  const deletion = await tcp.request('delete', { messageId: message.id });
  assert.equal(deletion.ok, true);
  const deleteEvent = await stream.next((e) => e.event === 'delete');
  assert.deepEqual(JSON.parse(deleteEvent.data), { id: message.id });
  assert.equal(deleteEvent.id, String(deletion.cursor));
  stream.close();
});

test('another user’s message cannot be deleted from either edge', async () => {
  const reply = await tcp.request('send', { text: 'tcp owns this' });
  const refused = await web.fetch(`/api/messages/${reply.message.id}`, { method: 'DELETE' });
  assert.equal(refused.status, 403);
  const sent = await web.send('web owns this');
  const tcpRefused = await tcp.request('delete', { messageId: sent.id });
  assert.equal(tcpRefused.ok, false);
  assert.equal(tcpRefused.error.code, 'FORBIDDEN');
});
