// Flow control on the TCP edge: a client that does not read what it is sent costs the server a
// bounded amount of memory and is cut off; a client that reads, however large the burst, gets
// everything; a client that pipelines thousands of requests gets every reply.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { startServer, type RunningServer } from '../helpers/server.js';
import { RawClient, type Frame } from '../helpers/tcp-client.js';
import { until } from '../helpers/until.js';

let server: RunningServer;
before(async () => {
  server = await startServer({ args: ['--workers', '2'] });
});
after(async () => {
  await server.stop();
});

function logLines(event: string, user: string): number {
  return readFileSync(server.logFile, 'utf8')
    .split('\n')
    .filter((line) => line.includes(`"event":"${event}"`) && line.includes(`"user":"${user}"`)).length;
}

/** The server process's resident memory now, and at its peak so far, in bytes (Linux /proc). */
function memory(): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${server.pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)![1]) * 1024;
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

async function sendMany(clients: RawClient[], perClient: number, text: (client: number, n: number) => string): Promise<number[]> {
  const replies = await Promise.all(
    clients.flatMap((client, c) => Array.from({ length: perClient }, (_, n) => client.request('send', { text: text(c, n) }))),
  );
  for (const reply of replies) assert.equal(reply.ok, true, JSON.stringify(reply));
  return replies.map((reply) => reply.message.id);
}

test('a client pipelining 5,000 requests in one write gets every reply', async () => {
  const client = await RawClient.connect(server.tcpPort);
  await client.login('pipeliner');
  const frames = Array.from({ length: 5000 }, (_, i) =>
    JSON.stringify(i % 10 === 0 ? { id: `p${i}`, op: 'send', text: `pipelined ${i}` } : { id: `p${i}`, op: 'ping' }),
  );
  client.sendRaw(`${frames.join('\n')}\n`);
  const answered = () => client.frames.filter((f) => f.ok === true && typeof f.id === 'string' && f.id.startsWith('p'));
  await until(() => answered().length === 5000, 'every request is answered', 20_000);
  assert.equal(new Set(answered().map((f) => f.id)).size, 5000);
  client.close();
});

test('a client that sends requests but never reads the replies is cut off; memory stays bounded; others are served (#1)', async () => {
  // 1,000 messages of 4,000 characters: each history page of 1,000 is a 4 MB reply.
  const seeders = await Promise.all(Array.from({ length: 4 }, () => RawClient.connect(server.tcpPort)));
  await Promise.all(seeders.map((s, i) => s.login(`seeder${i}`)));
  await sendMany(seeders, 250, (c, n) => `${c}:${n} `.padEnd(4000, 'x'));
  seeders.forEach((s) => s.close());

  const healthy = await RawClient.connect(server.tcpPort);
  await healthy.login('healthy-reader');
  const flooder = await RawClient.connect(server.tcpPort);
  await flooder.login('flooder');
  flooder.socket.pause(); // never reads again
  const before = memory();
  const started = Date.now();
  // 200 pages of 4 MB: 800 MB of replies if the server wrote them all.
  flooder.sendRaw(Array.from({ length: 200 }, (_, i) => `${JSON.stringify({ id: i, op: 'history', limit: 1000 })}\n`).join(''));

  // Served meanwhile, and after.
  while (logLines('tcp-slow-consumer', 'flooder') === 0) {
    assert.equal((await healthy.request('send', { text: 'still served' })).ok, true);
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (Date.now() - started > 20_000) assert.fail('the flooder was not cut off within 20 s');
  }
  flooder.socket.resume();
  await flooder.closed;
  const grown = memory().peak - before.rss;
  assert.ok(grown < 200 * 1024 * 1024, `the server grew by ${Math.round(grown / 1024 / 1024)} MB at its peak`);
  assert.equal((await healthy.request('history', { limit: 1000 })).messages.length, 1000);
  assert.equal(logLines('tcp-slow-consumer', 'flooder'), 1);
  healthy.close();
});

test('a subscriber that stops reading is cut off once (one log line) while another keeps getting every push (#2)', async () => {
  const stuck = await RawClient.connect(server.tcpPort);
  await stuck.login('stuck');
  await stuck.request('subscribe');
  stuck.socket.pause(); // never reads again: the kernel buffers fill, then the server's

  const healthy = await RawClient.connect(server.tcpPort);
  await healthy.login('healthy');
  await healthy.request('subscribe');
  const writer = await RawClient.connect(server.tcpPort);
  await writer.login('flood');
  const text = 'x'.repeat(4000);
  // 16 MB of pushes: more than the kernel buffers and the server's 1 MiB limit hold for the
  // stuck subscriber. Then it is given time to read nothing.
  for (let round = 0; round < 40; round++) {
    const ids = await sendMany([writer], 100, () => text);
    await healthy.next((f) => f.event === 'message' && f.message.id === ids.at(-1));
  }
  await until(() => logLines('tcp-slow-consumer', 'stuck') > 0, 'the stuck subscriber is cut off', 20_000);
  stuck.socket.resume();
  await stuck.closed;
  const cut = stuck.frames.find((f) => f.ok === false);
  assert.deepEqual([cut?.id, cut?.error.code], [null, 'SLOW_CONSUMER']);
  assert.match(cut!.error.message, /^you left more than 1 MiB unread and read nothing for 5 s, so the connection is closed; reconnect/);
  // More changes after the cut are not counted against it again.
  const ids = await sendMany([writer], 100, () => text);
  await healthy.next((f) => f.event === 'message' && f.message.id === ids.at(-1));
  assert.equal(logLines('tcp-slow-consumer', 'stuck'), 1);
  assert.equal(healthy.frames.filter((f) => f.event === 'message').length, 4100);
  healthy.close();
  writer.close();
});

test('a subscriber that reads gets all 2,000 large messages of a burst from 20 writers (#2)', async () => {
  const reader = await RawClient.connect(server.tcpPort);
  await reader.login('burst-reader');
  const subscribed = await reader.request('subscribe');
  const writers = await Promise.all(Array.from({ length: 20 }, () => RawClient.connect(server.tcpPort)));
  await Promise.all(writers.map((w, i) => w.login(`burst${i}`)));
  // 4,000 emoji: 16 KB of UTF-8 each, 32 MB in all, sent as fast as the writers can.
  const ids = await sendMany(writers, 100, (c, n) => `${c}:${n}:` + '😀'.repeat(4000 - `${c}:${n}:`.length));
  const newest = Math.max(...ids);
  await reader.next((f) => f.event === 'message' && f.message.id === newest, 30_000);
  const pushed = new Set(reader.frames.filter((f) => f.event === 'message' && f.cursor > subscribed.last).map((f) => f.message.id));
  assert.equal(ids.filter((id) => pushed.has(id)).length, 2000);
  assert.equal(logLines('tcp-slow-consumer', 'burst-reader'), 0);
  reader.close();
  writers.forEach((w) => w.close());
});

test('a subscriber that reads, but more slowly than it is sent, is cut off at 64 MiB and told so', async (t) => {
  const own = await startServer({ args: ['--workers', '2', '--arena-mb', '128'] });
  t.after(() => own.stop());
  const trickler = await RawClient.connect(own.tcpPort);
  await trickler.login('trickler');
  await trickler.request('subscribe');
  // From here only the tail of what arrives is kept, undecoded: decoding 64 MB of frames could
  // outlast the 2 s a cut-off client gets to read the error frame at the end.
  trickler.socket.removeAllListeners('data');
  let tail = Buffer.alloc(0);
  // One read (at most 64 KB) every 50 ms: never stalled, yet further behind with every burst.
  let isTrickling = true;
  trickler.socket.on('data', (chunk: Buffer) => {
    tail = Buffer.concat([tail, chunk]).subarray(-64 * 1024);
    if (!isTrickling) return;
    trickler.socket.pause();
    setTimeout(() => isTrickling && trickler.socket.resume(), 50);
  });
  const writers = await Promise.all(Array.from({ length: 10 }, () => RawClient.connect(own.tcpPort)));
  await Promise.all(writers.map((w, i) => w.login(`fast${i}`)));
  // Bursts of 200 messages of 16 KB (3.2 MB of pushes) until it is cut off, however fast or
  // slow this machine stores them.
  const frame = `${JSON.stringify({ id: 'fast', op: 'send', text: '😀'.repeat(4000) })}\n`;
  const cutLine = () => readFileSync(own.logFile, 'utf8').split('\n').find((line) => line.includes('"event":"tcp-slow-consumer"'));
  for (let sent = 20; cutLine() === undefined; sent += 20) {
    for (const writer of writers) writer.sendRaw(frame.repeat(20));
    const isAnswered = () => writers.every((w) => w.frames.filter((f) => f.id === 'fast' && f.ok).length >= sent);
    await until(() => isAnswered() || cutLine() !== undefined, 'a burst is stored', 60_000);
    if (sent > 20 * 100) assert.fail('not cut off after 320 MB of pushes');
  }
  // Read what is left at full speed, to find the reason at its end.
  isTrickling = false;
  trickler.socket.resume();
  await trickler.closed;
  assert.match(cutLine()!, /"user":"trickler","reason":"over-hard-limit"/);
  const cut = JSON.parse(tail.toString('utf8').trimEnd().split('\n').at(-1)!) as Frame;
  assert.deepEqual([cut.id, cut.error.code], [null, 'SLOW_CONSUMER']);
  assert.match(cut.error.message, /^more than 64 MiB waited unread for you: you read more slowly than you are sent, so the connection is closed; reconnect/);
  writers.forEach((w) => w.close());
});
