// The refusals of the TCP edge, each provoked for real: a user sending too fast, a server at its
// connection limit, a send racing a shutdown, and a request that fails for a reason nobody
// planned for (the disk refusing a write).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { test } from 'node:test';
import { FrameDecoder } from '../../protocol/frame-decoder.js';
import { startServer } from '../helpers/server.js';
import { RawClient, type Frame } from '../helpers/tcp-client.js';

test('a user sending faster than --rate-limit gets RATE_LIMITED with retryAfter; others are not slowed', async (t) => {
  const server = await startServer({ args: ['--rate-limit', '1'] });
  t.after(() => server.stop());
  const hasty = await RawClient.connect(server.tcpPort);
  await hasty.login('hasty');
  // A rate of 1 a second allows bursts of 3.
  const replies = await Promise.all(Array.from({ length: 4 }, (_, i) => hasty.request('send', { text: `quick ${i}` })));
  assert.deepEqual(replies.map((r) => r.ok), [true, true, true, false]);
  const refused = replies[3]!;
  assert.equal(refused.error.code, 'RATE_LIMITED');
  assert.ok(refused.error.retryAfter >= 1, JSON.stringify(refused));
  assert.match(refused.error.message, /too fast; wait \d+ s/);
  const calm = await RawClient.connect(server.tcpPort);
  await calm.login('calm');
  assert.equal((await calm.request('send', { text: 'unaffected' })).ok, true);
  hasty.close();
  calm.close();
});

test('a connection over --max-clients gets one TOO_MANY_CONNECTIONS frame, then the server closes it', async (t) => {
  const server = await startServer({ args: ['--max-clients', '1'] });
  t.after(() => server.stop());
  const first = await RawClient.connect(server.tcpPort);
  const socket = connect({ port: server.tcpPort, host: '127.0.0.1' });
  const decoder = new FrameDecoder(1 << 20);
  const lines: string[] = [];
  socket.on('data', (chunk: Buffer) => lines.push(...decoder.push(chunk).frames));
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('close', resolve));
  assert.equal(lines.length, 1, `received ${JSON.stringify(lines)}`);
  const refusal = JSON.parse(lines[0]!) as Frame;
  assert.deepEqual([refusal.id, refusal.ok, refusal.error.code], [null, false, 'TOO_MANY_CONNECTIONS']);
  assert.ok(refusal.error.retryAfter > 0);
  assert.equal((await first.request('ping')).ok, true, 'the client within the limit is served');
  first.close();
});

test('sends racing a shutdown are stored and acknowledged, or refused with SHUTTING_DOWN; none is lost or stored unanswered', async (t) => {
  const server = await startServer({ keepData: true });
  t.after(() => server.stop());
  const client = await RawClient.connect(server.tcpPort);
  await client.login('racer');
  const outcomes = new Map<string, Frame | undefined>();
  let closed = false;
  void client.closed.then(() => (closed = true));
  // Keep 20 sends in flight until the server hangs up, and stop it once 50 are acknowledged.
  const sender = async (lane: number) => {
    for (let n = 0; !closed; n++) {
      const text = `lane ${lane} send ${n}`;
      outcomes.set(text, undefined);
      // No reply when the server had already hung up by the time the request arrived.
      const reply = await client.request('send', { text }).catch(() => undefined);
      outcomes.set(text, reply);
    }
  };
  const lanes = Array.from({ length: 20 }, (_, lane) => sender(lane));
  while ([...outcomes.values()].filter((r) => r?.ok).length < 50) await new Promise((resolve) => setTimeout(resolve, 5));
  const stopped = server.stop();
  await client.closed;
  await Promise.all(lanes);
  assert.equal(await stopped, 0);
  assert.ok(client.frames.some((f) => f.event === 'goodbye'), 'the server said goodbye');

  const restarted = await startServer({ dataDir: server.dataDir });
  t.after(() => restarted.stop());
  t.after(() => rmSync(server.dataDir, { recursive: true, force: true }));
  const reader = await RawClient.connect(restarted.tcpPort);
  await reader.login('reader');
  const stored = new Map<string, number>();
  for (let last = 0; ; ) {
    const page = await reader.request('history', { last, limit: 1000 });
    for (const m of page.messages) stored.set(m.text, m.id);
    if (page.last === last) break;
    last = page.last;
  }
  let refused = 0;
  for (const [text, reply] of outcomes) {
    if (reply?.ok) assert.equal(stored.get(text), reply.message.id, `acknowledged "${text}" was stored`);
    else {
      if (reply) assert.equal(reply.error.code, 'SHUTTING_DOWN', JSON.stringify(reply));
      if (reply) refused++;
      assert.equal(stored.has(text), false, `"${text}" was stored without an acknowledgement`);
    }
  }
  assert.ok(stored.size >= 50);
  t.diagnostic(`${stored.size} stored, ${refused} refused with SHUTTING_DOWN`);
  reader.close();
});

test('a request failing for an unplanned reason is logged with its stack and answered INTERNAL; the connection goes on', async (t) => {
  const server = await startServer({ args: ['--log', '-'] });
  t.after(() => server.stop());
  const client = await RawClient.connect(server.tcpPort);
  // From now on the kernel refuses to grow any file of the server (RLIMIT_FSIZE, as `ulimit -f`
  // sets it): the next login cannot be written to sessions.jsonl.
  execFileSync('prlimit', ['--pid', String(server.pid), '--fsize=1']);
  const reply = await client.request('login', { username: 'unlucky' });
  assert.equal(reply.error.code, 'INTERNAL');
  assert.equal(reply.error.message, 'something went wrong on the server; the error was logged, please try again');
  assert.doesNotMatch(JSON.stringify(reply), /EFBIG|sessions/, 'the reply reveals nothing');
  const logged = server.output().split('\n').find((line) => line.includes('"event":"tcp-request-failed"'));
  assert.ok(logged, server.output());
  assert.match(logged, /"op":"login"/);
  assert.match(logged, /EFBIG/);
  assert.match(logged, /"stack":"/);
  assert.equal(statSync(`${server.dataDir}/sessions.jsonl`).size, 0, 'the half-written line was cut off');
  assert.equal((await client.request('ping')).ok, true);
  assert.equal((await client.request('send', { text: 'x' })).error.code, 'NOT_LOGGED_IN', 'no session was left behind');
  client.close();
});
