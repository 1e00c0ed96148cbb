// Piscina task: write the snapshot half of a journal compaction (server/journal.ts): read what
// the shared ring retains up to a seq and write it, encoded and synced, to the temp file. That
// is the whole retained history at once, tens of MB; on the primary thread it stopped every
// reader and sender for hundreds of milliseconds (bench/README.md).
import { workerData } from 'piscina';
import { writeSnapshot, type Snapshot } from '../journal-snapshot.js';
import { RingBuffer } from '../ring-buffer.js';
import { retainedRecords } from '../store/journal-records.js';

const ring = RingBuffer.attach((workerData as { ring: SharedArrayBuffer }).ring);

export interface CompactTask {
  path: string;
  upTo: number;
}

export default function compactTask({ path, upTo }: CompactTask): Snapshot {
  return writeSnapshot(path, retainedRecords(ring, upTo));
}
