// Piscina task: apply a batch of writes to the shared ring. Each worker attaches to the same
// SharedArrayBuffer once, at load; the primary batches every send and delete of one event-loop
// turn into one task, so the hop to a thread is paid per batch, not per message.
import { workerData } from 'piscina';
import { RingBuffer } from '../ring-buffer.js';
import { applyWrites, type WriteOp, type WriteOutcome } from '../store/apply-writes.js';

const ring = RingBuffer.attach((workerData as { ring: SharedArrayBuffer }).ring);

export default function storeTask(ops: WriteOp[]): WriteOutcome[] {
  return applyWrites(ring, ops);
}
