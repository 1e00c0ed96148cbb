// The disk refusing the journal's writes (full, a quota: here the kernel's file size limit, as
// `ulimit -f` sets it): a write that reached the store is stored once the disk takes it, never
// refused and stored anyway; new writes are refused while nothing of them is stored; health says
// the node cannot write; and a retry with the same clientId is never a second copy.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { JOURNAL_FILE } from '../../server/journal.js';
import { startServer } from '../helpers/server.js';
import { RawClient } from '../helpers/tcp-client.js';
import { until } from '../helpers/until.js';

test('while the disk refuses the journal, writes in flight wait and are stored once, new ones are refused, and health is 503', async (t) => {
  const server = await startServer({ args: ['--log', '-', '--workers', '0'], keepData: true });
  t.after(() => rmSync(server.dataDir, { recursive: true, force: true }));
  t.after(() => server.stop());
  const alice = await RawClient.connect(server.tcpPort);
  const bob = await RawClient.connect(server.tcpPort);
  t.after(() => {
    alice.close();
    bob.close();
  });
  await alice.login('alice');
  await bob.login('bob');
  await alice.request('send', { text: 'before' });

  // From now on no file of the server may grow: the journal's next append fails.
  const journalBytes = statSync(join(server.dataDir, JOURNAL_FILE)).size;
  execFileSync('prlimit', ['--pid', String(server.pid), `--fsize=${journalBytes}:`]);
  const inFlight = alice.request('send', { text: 'sent as the disk filled', clientId: 'c1' });
  await until(async () => server.output().includes('"event":"journal-append-failed"'), 'the failed append in the log');

  const refused = await bob.request('send', { text: 'sent while the disk is full' });
  assert.deepEqual(refused.error, {
    code: 'UNAVAILABLE',
    message: 'the server cannot save to disk right now; nothing was stored, try again in a moment',
    retryAfter: 5,
  });
  assert.equal((await bob.request('delete', { messageId: 1 })).error.code, 'UNAVAILABLE', 'deletes too');
  assert.equal((await fetch(`${server.baseUrl}/api/health`)).status, 503);
  const retry = alice.request('send', { text: 'sent as the disk filled', clientId: 'c1' });

  execFileSync('prlimit', ['--pid', String(server.pid), '--fsize=unlimited:']);
  const [first, second] = await Promise.all([inFlight, retry]);
  assert.equal(first.ok, true, JSON.stringify(first));
  assert.equal(first.duplicate, false);
  assert.deepEqual([second.duplicate, second.message], [true, first.message], 'the retry waited for the original');
  await until(async () => (await fetch(`${server.baseUrl}/api/health`)).status === 200, 'health back to 200');
  assert.match(server.output(), /"event":"journal-append-recovered".*"failedForMs":\d+/);

  const history = await bob.request('history', {});
  assert.deepEqual(
    history.messages.map((m: { text: string }) => m.text),
    ['before', 'sent as the disk filled'],
    'stored once; the refused send is nowhere',
  );
  assert.equal((await bob.request('send', { text: 'after' })).ok, true);

  // And it was journaled: a restart keeps it.
  assert.equal(await server.stop(), 0);
  const again = await startServer({ dataDir: server.dataDir });
  t.after(() => again.stop());
  const reader = await RawClient.connect(again.tcpPort);
  t.after(() => reader.close());
  await reader.login('carol');
  const kept = await reader.request('history', {});
  assert.deepEqual(kept.messages.map((m: { text: string }) => m.text), ['before', 'sent as the disk filled', 'after']);
});
