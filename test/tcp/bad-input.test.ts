// Bad input and bad clients get a clear error frame, lose nothing, and never disturb others.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startServer, type RunningServer } from '../helpers/server.js';
import { RawClient } from '../helpers/tcp-client.js';

let server: RunningServer;
before(async () => {
  server = await startServer({ args: ['--frame-timeout', '1'] });
});
after(async () => {
  await server.stop();
});

test('invalid JSON, non-objects, a missing id and an unknown op each get an error frame', async () => {
  const client = await RawClient.connect(server.tcpPort);
  client.sendRaw('this is not json\n');
  const badJson = await client.next((f) => f.ok === false);
  assert.equal(badJson.id, null);
  assert.equal(badJson.error.code, 'BAD_JSON');
  assert.match(badJson.error.message, /one JSON object per line/);

  client.sendRaw('[1,2,3]\n');
  assert.equal((await client.next((f) => f.ok === false)).error.code, 'BAD_REQUEST');
  client.sendRaw('{"op":"ping"}\n');
  assert.match((await client.next((f) => f.ok === false)).error.message, /"id" is missing/);
  client.sendRaw('{"id":7,"op":"shout"}\n');
  const unknown = await client.next((f) => f.ok === false);
  assert.deepEqual([unknown.id, unknown.error.code], [7, 'UNKNOWN_OP']);
  assert.match(unknown.error.message, /login, resume/);

  // The connection is still fine afterwards.
  assert.equal((await client.request('ping')).ok, true);
  client.close();
});

test('binary garbage is answered and does not disturb other clients', async () => {
  const bystander = await RawClient.connect(server.tcpPort);
  await bystander.login('bystander');
  await bystander.request('subscribe');
  const client = await RawClient.connect(server.tcpPort);
  const garbage = Buffer.concat([randomBytes(2000), Buffer.from([0xff, 0xfe, 0x00, 0x0a])]);
  client.sendRaw(garbage);
  const error = await client.next((f) => f.ok === false);
  assert.equal(error.error.code, 'BAD_JSON');
  const sent = await bystander.request('send', { text: 'still here' });
  assert.equal(sent.ok, true);
  await bystander.next((f) => f.event === 'message' && f.message.id === sent.message.id);
  client.close();
  bystander.close();
});

test('frames split at every byte, and many frames in one write, are understood', async () => {
  const client = await RawClient.connect(server.tcpPort);
  const frames = Buffer.from('{"id":"a","op":"login","username":"splitter"}\n{"id":"b","op":"send","text":"ünïcödé ✓"}\n');
  for (const byte of frames) client.sendRaw(Buffer.from([byte]));
  const sent = await client.next((f) => f.id === 'b');
  assert.equal(sent.message.text, 'ünïcödé ✓');

  const burst = Array.from({ length: 200 }, (_, i) => JSON.stringify({ id: i, op: 'ping' })).join('\n') + '\n';
  client.sendRaw(burst);
  await client.next((f) => f.id === 199 && f.ok === true);
  client.close();
});

test('a frame over 64 KiB gets FRAME_TOO_LARGE and the connection is closed; one at the limit is fine', async () => {
  const client = await RawClient.connect(server.tcpPort);
  await client.login('big');
  // Exactly 65,536 bytes of JSON: measured in UTF-8 bytes, not characters.
  const prefix = '{"id":1,"op":"ping","pad":"';
  const suffix = '"}';
  const room = 65536 - Buffer.byteLength(prefix + suffix);
  const pad = 'é'.repeat(Math.floor(room / 2)) + (room % 2 ? 'x' : '');
  const atLimit = prefix + pad + suffix;
  assert.equal(Buffer.byteLength(atLimit), 65536);
  client.sendRaw(`${atLimit}\n`);
  assert.equal((await client.next((f) => f.id === 1)).ok, true);

  // One byte more: 32,769 two-byte characters would be under the limit if counted as characters.
  client.sendRaw(`${prefix}${pad}x${suffix}\n`);
  const error = await client.next((f) => f.ok === false);
  assert.equal(error.error.code, 'FRAME_TOO_LARGE');
  await client.closed;
});

test('an endless line without a newline is cut off at the limit, not buffered forever', async () => {
  const client = await RawClient.connect(server.tcpPort);
  client.sendRaw(Buffer.alloc(70_000, 0x61));
  const error = await client.next((f) => f.ok === false);
  assert.equal(error.error.code, 'FRAME_TOO_LARGE');
  await client.closed;
});

test('a half-written frame followed by silence times out with IDLE_TIMEOUT', async () => {
  const client = await RawClient.connect(server.tcpPort);
  client.sendRaw('{"id":1,"op":"pi');
  const error = await client.next((f) => f.ok === false);
  assert.equal(error.error.code, 'IDLE_TIMEOUT');
  await client.closed;
});

test('a frame trickling in one byte at a time still times out, counted from its first byte (#9)', async () => {
  const client = await RawClient.connect(server.tcpPort);
  client.sendRaw('{"id":1,"op":"ping","pad":"');
  // A byte every 200 ms for 3 s: an inactivity timer of 1 s would never fire.
  let trickling = true;
  const trickle = (async () => {
    for (let i = 0; i < 15 && !client.socket.destroyed; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      client.sendRaw('x');
    }
    trickling = false;
  })();
  const error = await client.next((f) => f.ok === false);
  assert.equal(error.error.code, 'IDLE_TIMEOUT');
  assert.match(error.error.message, /of its first byte/);
  assert.equal(trickling, true, 'the deadline passed while bytes were still arriving');
  await client.closed;
  await trickle;
});

test('a silent client between frames is not timed out', async () => {
  const client = await RawClient.connect(server.tcpPort);
  await client.login('patient');
  // Longer than the 1 s frame timeout of this server, measured by the server's own clock.
  const before = (await client.request('ping')).time;
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const after = await client.request('ping');
  assert.ok(Date.parse(after.time) - Date.parse(before) >= 1400);
  client.close();
});
