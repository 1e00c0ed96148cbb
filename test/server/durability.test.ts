// Restarts and crashes: what was acknowledged is there afterwards, sessions too, and ids
// keep increasing from where they were.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Journal, JOURNAL_FILE } from '../../server/journal.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { RawClient } from '../helpers/tcp-client.js';
import { until } from '../helpers/until.js';
import { temporaryFolder } from '../helpers/temporary-folder.js';

test('a restart keeps messages, deletions and sessions; ids continue upward', async (t) => {
  const dataDir = temporaryFolder(t, 'durability');
  const first = await startServer({ dataDir });
  const client = await RawClient.connect(first.tcpPort);
  const login = await client.login('keeper');
  const kept = await client.request('send', { text: 'kept across restarts' });
  const gone = await client.request('send', { text: 'deleted before restart' });
  await client.request('delete', { messageId: gone.message.id });
  client.close();
  assert.equal(await first.stop(), 0);

  const second = await startServer({ dataDir });
  t.after(() => second.stop());
  const again = await RawClient.connect(second.tcpPort);
  const resumed = await again.request('resume', { token: login.token });
  assert.equal(resumed.username, 'keeper', 'the session survived');
  const history = await again.request('history', {});
  assert.deepEqual(history.messages.map((m: { text: string }) => m.text), ['kept across restarts']);
  assert.deepEqual(history.messages[0], kept.message);
  const next = await again.request('send', { text: 'after restart' });
  assert.ok(next.message.id > gone.message.id, 'ids are never reused');
  const retried = await again.request('send', { text: 'x', clientId: 'unused' });
  assert.equal(retried.duplicate, false);
  again.close();
});

test('idempotent retries hold across a restart', async (t) => {
  const dataDir = temporaryFolder(t, 'durability');
  const first = await startServer({ dataDir });
  const client = await RawClient.connect(first.tcpPort);
  await client.login('retry');
  const original = await client.request('send', { text: 'only once', clientId: 'abc' });
  client.close();
  await first.stop();
  const second = await startServer({ dataDir });
  t.after(() => second.stop());
  const again = await RawClient.connect(second.tcpPort);
  await again.login('retry');
  const retry = await again.request('send', { text: 'only once', clientId: 'abc' });
  assert.equal(retry.duplicate, true);
  assert.deepEqual(retry.message, original.message);
  again.close();
});

test('kill -9 during a burst of sends loses nothing that was acknowledged', async (t) => {
  const dataDir = temporaryFolder(t, 'durability');
  const server = await startServer({ dataDir, args: ['--workers', '2'] });
  const acknowledged = new Map<number, string>();
  const writers = await Promise.all(Array.from({ length: 4 }, () => RawClient.connect(server.tcpPort)));
  await Promise.all(writers.map((w, i) => w.login(`burst${i}`)));
  let killed = false;
  const bursts = writers.map(async (writer, w) => {
    for (let n = 0; !killed; n++) {
      const reply = await writer.request('send', { text: `w${w} n${n}` }).catch(() => null);
      if (!reply?.ok) return;
      acknowledged.set(reply.message.id, reply.message.text);
    }
  });
  // Kill once a good number of sends has been acknowledged, while more are in flight.
  while (acknowledged.size < 300) await new Promise((resolve) => setImmediate(resolve));
  await server.kill();
  killed = true;
  writers.forEach((w) => w.close());
  await Promise.allSettled(bursts);

  const restarted = await startServer({ dataDir });
  t.after(() => restarted.stop());
  const reader = await RawClient.connect(restarted.tcpPort);
  await reader.login('reader');
  const seen = new Map<number, string>();
  let last = 0;
  for (;;) {
    const page = await reader.request('history', { last, limit: 1000 });
    for (const m of page.messages) seen.set(m.id, m.text);
    if (page.last === last) break;
    last = page.last;
  }
  for (const [id, text] of acknowledged) assert.equal(seen.get(id), text, `acknowledged message ${id} survived`);
  reader.close();
});

/** Sends `perWriter` messages of 4,000 emoji (16 KB each) from each of `writers` connections at once. */
async function burstOfLongMessages(server: RunningServer, writers: number, perWriter: number): Promise<Array<{ id: number; text: string }>> {
  const clients = await Promise.all(Array.from({ length: writers }, () => RawClient.connect(server.tcpPort)));
  await Promise.all(clients.map((c, i) => c.login(`long${i}`)));
  const replies = await Promise.all(
    clients.flatMap((client, w) =>
      Array.from({ length: perWriter }, (_, n) => {
        const label = `${w}:${n}:`;
        return client.request('send', { text: label + '😀'.repeat(4000 - label.length) });
      }),
    ),
  );
  clients.forEach((c) => c.close());
  for (const reply of replies) assert.equal(reply.ok, true, JSON.stringify(reply).slice(0, 300));
  return replies.map((reply) => reply.message);
}

for (const [flags, limit] of [[['--arena-mb', '1'], 'a 1 MiB arena'], [['--capacity', '16'], '16 slots']] as const) {
  test(`with ${limit}, a burst larger than the ring is acknowledged only once journaled, and subscribers see every message (#4)`, async (t) => {
    const dataDir = temporaryFolder(t, 'durability');
    const server = await startServer({ dataDir, args: ['--workers', '2', ...flags] });
    t.after(() => server.stop());
    const subscriber = await RawClient.connect(server.tcpPort);
    await subscriber.login('watcher');
    await subscriber.request('subscribe');

    // 200 x 16 KB: three times the arena, twelve times the slots.
    const sent = await burstOfLongMessages(server, 8, 25);
    const newest = Math.max(...sent.map((m) => m.id));
    await subscriber.next((f) => f.event === 'message' && f.message.id === newest, 20_000);
    const pushed = new Map(subscriber.frames.filter((f) => f.event === 'message').map((f) => [f.message.id, f.message.text]));
    for (const message of sent) assert.equal(pushed.get(message.id), message.text, `acknowledged message ${message.id} was pushed`);
    const cursors = subscriber.frames.filter((f) => f.event === 'message').map((f) => f.cursor);
    assert.deepEqual(cursors, Array.from({ length: cursors.length }, (_, i) => cursors[0]! + i), 'no gap in the pushed cursors');
    subscriber.close();
    assert.equal(await server.stop(), 0);

    const { journal, records } = await Journal.open(dataDir);
    await journal.close();
    const journaled = new Map(records.map((r) => [r.seq, r.kind === 'message' ? r.text : '']));
    // A 1 MiB arena leaves the journal below its compaction threshold: every message is in it.
    // Sixteen slots compact it to the newest few, which must be the newest sent.
    const expected = flags[0] === '--arena-mb' ? sent : sent.filter((m) => m.id > newest - records.length);
    for (const message of expected) assert.equal(journaled.get(message.id), message.text, `message ${message.id} is in the journal`);
  });
}

test('the journal stays near what the ring can hold, however long the texts (#8)', async (t) => {
  const dataDir = temporaryFolder(t, 'durability');
  // The ring holds at most 1 MiB of text; 1,024 slots keep the record-count rule out of play.
  const server = await startServer({ dataDir, args: ['--arena-mb', '1', '--capacity', '1024'] });
  t.after(() => server.stop());
  const sent = await burstOfLongMessages(server, 4, 125); // 500 x 16 KB = 8 MB of text
  // Compaction runs beside the appends, so on a loaded machine a burst can outrun it for a while;
  // once the burst is over it brings the journal back near the ring's size on its own.
  const size = () => statSync(join(dataDir, JOURNAL_FILE)).size;
  await until(async () => size() < 4 * 1024 * 1024, 'a journal under 4 MiB after 8 MB of messages');
  assert.equal(await server.stop(), 0);

  const restarted = await startServer({ dataDir, args: ['--arena-mb', '1', '--capacity', '1024'] });
  t.after(() => restarted.stop());
  const reader = await RawClient.connect(restarted.tcpPort);
  await reader.login('reader');
  const newest = [...sent].sort((a, b) => a.id - b.id).slice(-20);
  const history = await reader.request('history', { limit: 20 });
  assert.deepEqual(history.messages.map((m) => [m.id, m.text]), newest.map((m) => [m.id, m.text]), 'compaction kept the newest');
  reader.close();
});
