// The original design's faults, one test each, so Parley provably does not have them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { startServer, type RunningServer } from '../helpers/server.js';
import { RawClient } from '../helpers/tcp-client.js';

let server: RunningServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.stop();
});

async function httpLogin(username: string): Promise<string> {
  const response = await fetch(`${server.baseUrl}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username }),
  });
  assert.equal(response.status, 200);
  return response.headers.getSetCookie()[0]!.split(';')[0]!;
}

test('a client joining does not re-broadcast or re-log earlier lines', async () => {
  const old = await RawClient.connect(server.tcpPort);
  await old.login('old');
  await old.request('subscribe');
  for (let i = 0; i < 25; i++) await old.request('send', { text: `line ${i}` });
  await old.next((f) => f.event === 'message' && f.message.text === 'line 24');
  const pushesBefore = old.frames.filter((f) => f.event === 'message').length;
  const logBefore = readFileSync(server.logFile, 'utf8').length;

  const newcomer = await RawClient.connect(server.tcpPort);
  await newcomer.login('newcomer');
  await newcomer.request('subscribe');
  const marker = await newcomer.request('send', { text: 'newcomer says hi' });
  await old.next((f) => f.event === 'message' && f.message.id === marker.message.id);
  await newcomer.next((f) => f.event === 'message' && f.message.id === marker.message.id);
  assert.equal(old.frames.filter((f) => f.event === 'message').length, pushesBefore + 1, 'the join pushed nothing old');
  assert.equal(newcomer.frames.filter((f) => f.event === 'message').length, 1, 'the newcomer got no replay it did not ask for');

  // The join wrote only its own lines to chat.log, and no message text was ever written there.
  const log = readFileSync(server.logFile, 'utf8');
  const joinLines = log.slice(logBefore).split('\n').filter(Boolean).map((line) => JSON.parse(line) as { event: string; user?: string });
  assert.deepEqual(joinLines.map((line) => [line.event, line.user]), [['tcp-connect', undefined], ['login', 'newcomer']]);
  for (let i = 0; i < 25; i++) assert.ok(!log.includes(`line ${i}"`), `"line ${i}" is not in chat.log`);
  assert.ok(!log.includes('newcomer says hi'));
  old.close();
  newcomer.close();
});

test('messages posted from the web reach TCP clients, and the other way round', async () => {
  const desktop = await RawClient.connect(server.tcpPort);
  await desktop.login('desktop');
  await desktop.request('subscribe');
  const cookie = await httpLogin('web');
  const posted = await fetch(`${server.baseUrl}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie },
    body: JSON.stringify({ text: 'from the web' }),
  });
  assert.equal(posted.status, 201);
  const webMessage = await posted.json();
  const pushed = await desktop.next((f) => f.event === 'message' && f.message.text === 'from the web');
  assert.deepEqual(pushed.message, webMessage);

  const fromDesktop = await desktop.request('send', { text: 'from the desktop' });
  const polled = await fetch(`${server.baseUrl}/api/messages?last=${webMessage.id}`, { headers: { cookie } });
  const body = await polled.json();
  assert.deepEqual(body.messages, [fromDesktop.message]);
  desktop.close();
});

test('ids come from the server, one sequence for every client; the web sees desktop messages', async () => {
  const desktop = await RawClient.connect(server.tcpPort);
  await desktop.login('clock-skewed');
  const cookie = await httpLogin('web2');
  const start = await (await fetch(`${server.baseUrl}/api/messages`, { headers: { cookie } })).json();
  const a = await desktop.request('send', { text: 'desktop 1' });
  const b = await (
    await fetch(`${server.baseUrl}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie },
      body: JSON.stringify({ text: 'web 1' }),
    })
  ).json();
  const c = await desktop.request('send', { text: 'desktop 2' });
  assert.ok(a.message.id < b.id && b.id < c.message.id, 'one increasing sequence across transports');
  const changes = await (await fetch(`${server.baseUrl}/api/messages?last=${start.last}`, { headers: { cookie } })).json();
  assert.deepEqual(changes.messages.map((m: { text: string }) => m.text), ['desktop 1', 'web 1', 'desktop 2']);
  for (const m of changes.messages) assert.match(m.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  desktop.close();
});

test('frames are sized in UTF-8 bytes, need no length prefix, and may exceed 9,999 bytes', async () => {
  const client = await RawClient.connect(server.tcpPort);
  await client.login('sizes');
  // 3,000 CJK characters: 9,000 UTF-8 bytes of text, over 9,999 bytes of frame with JSON.
  const text = '漢'.repeat(3000) + '🙂'.repeat(1000);
  const frame = `${JSON.stringify({ id: 'big', op: 'send', text })}\n`;
  assert.ok(Buffer.byteLength(frame) > 9999 && Buffer.byteLength(frame) > frame.length);
  // Sent in pieces, as a network may deliver it: no assumption of one read per frame.
  const bytes = Buffer.from(frame);
  for (let i = 0; i < bytes.length; i += 1000) client.sendRaw(bytes.subarray(i, i + 1000));
  const reply = await client.next((f) => f.id === 'big');
  assert.equal(reply.ok, true);
  assert.equal(reply.message.text, text);
  client.close();
});
