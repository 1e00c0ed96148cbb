// What of the ring goes into the journal, in the one shape both the commit loop (appends) and
// a compaction (snapshots) write.
import type { Change, RingBuffer } from '../ring-buffer.js';

/** A deletion is its own journal record; the message record always says "not deleted". */
export function forJournal(change: Change): Change {
  return change.kind === 'message' && change.deletedAt !== 0 ? { ...change, deletedAt: 0 } : change;
}

/**
 * The records a compacted journal keeps: every change the ring still holds up to `upTo`, with
 * the texts of deleted messages left out (the deletion is a record of its own; the message keeps
 * its id, so the deletion has something to refer to). Changes evicted while this reads are
 * simply not there, as they would not be after any later compaction.
 */
export function retainedRecords(ring: RingBuffer, upTo: number): Change[] {
  const { changes } = ring.readChanges(ring.oldest - 1, Number.MAX_SAFE_INTEGER, upTo);
  return changes.map((change) =>
    change.kind === 'message' && change.deletedAt !== 0 ? { ...change, text: '', deletedAt: 0 } : forJournal(change),
  );
}
