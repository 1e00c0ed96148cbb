// Many writers at once, their batches applied inline and by worker threads (a batch with enough
// text goes to the pool: server/store/write-queue.ts): every id unique, strictly increasing in
// history order, each connection's sends stored in the order it sent them, every message intact.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startServer } from '../helpers/server.js';
import { RawClient } from '../helpers/tcp-client.js';

test('concurrent writers get unique, increasing ids in the order each sent, and intact texts', async (t) => {
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
        // Odd writers send long texts, so batches cross POOL_MIN_TEXT and reach the workers.
        const padding = w % 2 === 1 ? ` ${'x'.repeat(1000)}` : '';
        const replies = await Promise.all(
          Array.from({ length: 50 }, (_, n) => writer.request('send', { text: `writer ${w} round ${round} n ${n} ${'é'.repeat(n)}${padding}` })),
        );
        for (const reply of replies) {
          assert.equal(reply.ok, true);
          ids.push(reply.message.id);
        }
        const sent = replies.map((reply) => reply.message.id);
        assert.deepEqual(sent, sent.slice().sort((a, b) => a - b), `writer ${w} round ${round}: stored in the order sent`);
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
    const match = /^writer (\d) round (\d+) n (\d+) (é*)( x{1000})?$/.exec(push.message.text);
    assert.ok(match, `intact text: ${push.message.text}`);
    assert.equal(match[4]!.length, Number(match[3]));
    assert.equal(push.message.user, `writer${match[1]}`);
  }
  const metrics = await (await fetch(`${server.baseUrl}/metrics`)).text();
  const tasks = Number(/^parley_worker_tasks_total (\d+)/m.exec(metrics)?.[1]);
  assert.ok(tasks > 0, `the heavy batches went to the worker threads (${tasks} tasks)`);
  writers.forEach((w) => w.close());
  reader.close();
});
