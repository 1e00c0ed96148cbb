// Many writers through several worker threads at once: every id unique, strictly increasing in
// history order, and every message intact.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startServer } from '../helpers/server.js';
import { RawClient } from '../helpers/tcp-client.js';

test('concurrent writers on several workers get unique, increasing ids and intact texts', async (t) => {
  // A small ring, so the burst wraps it several times while readers read.
  const server = await startServer({ args: ['--workers', '2', '--capacity', '512'] });
  t.after(() => server.stop());
  const writers = await Promise.all(Array.from({ length: 8 }, () => RawClient.connect(server.tcpPort)));
  await Promise.all(writers.map((w, i) => w.login(`writer${i}`)));
  const reader = await RawClient.connect(server.tcpPort);
  await reader.login('reader');
  await reader.request('subscribe');

  const ids: number[] = [];
  await Promise.all(
    writers.map(async (writer, w) => {
      for (let round = 0; round < 10; round++) {
        const replies = await Promise.all(
          Array.from({ length: 50 }, (_, n) => writer.request('send', { text: `writer ${w} round ${round} n ${n} ${'é'.repeat(n)}` })),
        );
        for (const reply of replies) {
          assert.equal(reply.ok, true);
          ids.push(reply.message.id);
        }
      }
    }),
  );
  assert.equal(new Set(ids).size, 4000, 'every id is unique');
  const newest = Math.max(...ids);
  await reader.next((f) => f.event === 'message' && f.message.id === newest);
  const pushed = reader.frames.filter((f) => f.event === 'message');
  assert.equal(pushed.length, 4000, 'the subscriber got every message once');
  for (let i = 1; i < pushed.length; i++) assert.ok(pushed[i]!.cursor > pushed[i - 1]!.cursor, 'cursors strictly increase');
  for (const push of pushed) {
    const match = /^writer (\d) round (\d+) n (\d+) (é*)$/.exec(push.message.text);
    assert.ok(match, `intact text: ${push.message.text}`);
    assert.equal(match[4]!.length, Number(match[3]));
    assert.equal(push.message.user, `writer${match[1]}`);
  }
  writers.forEach((w) => w.close());
  reader.close();
});
