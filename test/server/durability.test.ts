// Restarts and crashes: what was acknowledged is there afterwards, sessions too, and ids
// keep increasing from where they were.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startServer } from '../helpers/server.js';
import { RawClient } from '../helpers/tcp-client.js';

function temporaryDataDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'parley-durability-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a restart keeps messages, deletions and sessions; ids continue upward', async (t) => {
  const dataDir = temporaryDataDir(t);
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
  const dataDir = temporaryDataDir(t);
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
  const dataDir = temporaryDataDir(t);
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
