import test from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { RingBuffer } from '../../server/ring-buffer.js';
import { STOP, type ReaderReport, type StressJob, type WriterReport } from './ring-stress-worker.js';

const WRITERS = 4;
const READERS = 2;
const BATCHES = 3000;

function start(job: StressJob): { worker: Worker; report: Promise<WriterReport | ReaderReport> } {
  const worker = new Worker(new URL('./ring-stress-worker.js', import.meta.url), { workerData: job });
  const report = Promise.race([
    once(worker, 'message').then(([report]) => report as WriterReport | ReaderReport),
    once(worker, 'error').then(([error]) => Promise.reject(error as Error)),
  ]);
  return { worker, report };
}

test('4 writer threads and 2 reader threads on a small wrapping ring: unique increasing ids, no torn reads', async () => {
  // 256 slots and 4 KiB of arena: the ring wraps hundreds of times while the readers copy from it.
  const ring = RingBuffer.create({ capacity: 256, arenaBytes: 4096 });
  const control = new SharedArrayBuffer(4);
  const readers = Array.from({ length: READERS }, () => start({ role: 'reader', buffer: ring.buffer, control }));
  const writers = Array.from({ length: WRITERS }, (_, writer) =>
    start({ role: 'writer', buffer: ring.buffer, control, writer, batches: BATCHES }),
  );

  const written = (await Promise.all(writers.map((w) => w.report))) as WriterReport[];
  Atomics.store(new Int32Array(control), STOP, 1);
  const read = (await Promise.all(readers.map((r) => r.report))) as ReaderReport[];
  await Promise.all([...writers, ...readers].map(({ worker }) => worker.terminate()));

  const all = written.flatMap((report) => report.seqs);
  assert.equal(new Set(all).size, all.length, 'duplicate ids');
  for (const report of written) {
    assert.equal(report.batchesNotConsecutive, 0, 'a batch got ids that are not consecutive');
    assert.ok(report.seqs.every((seq, i) => i === 0 || seq > report.seqs[i - 1]!), 'ids not increasing within a writer');
    assert.ok(report.deletes > 0, 'writers deleted some of their messages');
  }
  assert.equal(ring.head, all.length, 'every seq up to the head was given exactly once');
  assert.equal(Math.max(...all), all.length);
  assert.ok(ring.head / ring.capacity > 100, `the ring wrapped ${ring.head / ring.capacity} times`);

  for (const report of read) {
    assert.deepEqual(report.samples, [], 'corrupt reads');
    assert.equal(report.corrupt, 0);
    assert.equal(report.outOfOrder, 0);
    assert.ok(report.messages > 1000, `reader saw only ${report.messages} messages`);
    assert.ok(report.deletes > 0, 'reader saw deletions');
    assert.ok(report.historyReads > 0);
  }
  const stats = ring.stats();
  assert.ok(stats.used <= 256 && stats.arenaUsedBytes <= 4096, JSON.stringify(stats));
});
