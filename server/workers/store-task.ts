// Piscina task: apply a batch of writes to the shared ring. Each worker attaches to the same
// SharedArrayBuffer once, at load. The primary sends only batches heavy enough to pay for the
// hop (server/store/write-queue.ts); lighter ones it applies itself with the same function.
import { workerData } from 'piscina';
import { RingBuffer } from '../ring-buffer.js';
import { applyWrites, type WriteOp, type WriteOutcome } from '../store/apply-writes.js';

const ring = RingBuffer.attach((workerData as { ring: SharedArrayBuffer }).ring);

export default function storeTask(ops: WriteOp[]): WriteOutcome[] {
  return applyWrites(ring, ops);
}
