// Writes the first half of a compacted journal: the records to keep, as a whole journal file of
// their own, synced. Synchronous on purpose: it runs in a worker thread (server/workers/
// compact-task.ts), where blocking costs nobody anything, or inline with --workers 0. The
// journal then adds what was appended meanwhile and puts the file in place (journal.ts).
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { encodeFrame, MAGIC } from './journal-format.js';
import type { Change } from './ring-buffer.js';

/** Frames are gathered into writes of about this size. */
const WRITE_CHUNK_BYTES = 1024 * 1024;

export interface Snapshot {
  records: number;
  bytes: number;
}

export function writeSnapshot(path: string, records: Iterable<Change>): Snapshot {
  const fd = openSync(path, 'w', 0o600);
  try {
    let bytes = writeFully(fd, MAGIC);
    let count = 0;
    let chunk: Buffer[] = [];
    let chunkBytes = 0;
    const flush = () => {
      bytes += writeFully(fd, Buffer.concat(chunk, chunkBytes));
      chunk = [];
      chunkBytes = 0;
    };
    for (const record of records) {
      const frame = encodeFrame(record);
      chunk.push(frame);
      chunkBytes += frame.length;
      count++;
      if (chunkBytes >= WRITE_CHUNK_BYTES) flush();
    }
    flush();
    fdatasyncSync(fd);
    return { records: count, bytes };
  } finally {
    closeSync(fd);
  }
}

function writeFully(fd: number, data: Buffer): number {
  let written = 0;
  while (written < data.length) written += writeSync(fd, data, written, data.length - written);
  return data.length;
}
