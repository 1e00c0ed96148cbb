// The append-only file behind the ring: every change is on disk (fdatasync'ed) before its
// sender is told it succeeded, and replaying the file on start rebuilds the ring. The bytes
// (magic, frames, CRCs) are journal-format.ts's.
//
// Group commit: append() queues its frames; one writer loop takes everything queued, writes it
// with one write() and one fdatasync(), and resolves those appends together. Appends made while
// a sync is in flight wait for the next one, so a burst of N sends costs a handful of syncs,
// not N.
//
// Recovery (open): a kill -9 or power cut can only hurt the end of the file: a frame written
// in part, or never synced (zeros or stale bytes after a crash). Frames are read in order and
// the first one whose length is impossible (0, over MAX_RECORD_BYTES, past the end), whose CRC
// does not match, or whose JSON is not a Change ends the journal: the file is truncated there
// and synced, so it starts cleanly, and the count of dropped bytes is reported. No append was
// acknowledged for those bytes, because acknowledgement waits for the sync. Records come back
// sorted by seq with duplicate seqs dropped (a compaction snapshot may hold a record that was
// also appended after its mark).
//
// Compaction, in two halves so neither readers nor senders wait for it:
//
//   old journal.log   MAGIC | frames ............ | frames appended meanwhile |
//                                               mark ──────────── tail ──────┘
//   journal.log.compact  MAGIC | snapshot (what to keep up to the mark) | tail |  -> renamed
//
// 1. compact(writeSnapshot) notes where the file ends (the mark) and has the caller write the
//    records worth keeping up to there into journal.log.compact and sync it. That is the
//    expensive part (encoding the whole retained history); the store runs it on a worker
//    thread while appends go on into the old file.
// 2. Then, in the writer loop, where no append can interleave: the bytes appended since the
//    mark (whole frames, already checked) are copied after the snapshot, the new file is
//    synced, renamed over journal.log, and the folder synced. A crash at any step leaves either
//    the old file or the new one, both whole; a leftover temp file is deleted on open.
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeFrame, MAGIC, readFrames } from './journal-format.js';
import type { Snapshot } from './journal-snapshot.js';
import type { Change } from './ring-buffer.js';
import { syncFolder } from './sync-folder.js';

export interface JournalOptions {
  /** Called after every sync with its duration and how many records it made durable. */
  onFsync?: (seconds: number, records: number) => void;
}
export interface OpenedJournal { journal: Journal; records: Change[]; truncatedBytes: number }

export const JOURNAL_FILE = 'journal.log';
const COMPACT_FILE = 'journal.log.compact';

interface Waiting { frames: Buffer[]; resolve: () => void; reject: (error: Error) => void }

/** Where the file ended when a compaction's snapshot was taken. */
interface Mark { offset: number; records: number }

interface Swap { mark: Mark; snapshot: Snapshot; resolve: () => void; reject: (error: Error) => void }

export class Journal {
  readonly #dir: string;
  readonly #path: string;
  readonly #tempPath: string;
  readonly #onFsync: JournalOptions['onFsync'];
  #file: FileHandle;
  #size: number;
  #recordCount: number;
  #appends: Waiting[] = [];
  #swap: Swap | null = null;
  #isCompacting = false;
  #writing = false;
  #written: Promise<void> = Promise.resolve();
  #closed = false;
  // Set when a sync fails: the kernel may have dropped the dirty pages, so nothing written
  // since the last good sync can be trusted (PostgreSQL's "fsyncgate"). Restart to recover.
  #broken: Error | null = null;

  static async open(dir: string, options: JournalOptions = {}): Promise<OpenedJournal> {
    await mkdir(dir, { recursive: true });
    await unlink(join(dir, COMPACT_FILE)).catch(ignoreMissing);
    const path = join(dir, JOURNAL_FILE);
    const file = await open(path, 'a+');
    try {
      const data = await file.readFile();
      if (data.length <= MAGIC.length && !data.equals(MAGIC)) {
        // New, or a crash before its header was synced (no append is ever acknowledged before).
        await file.truncate(0);
        await writeAll(file, MAGIC);
        await file.sync();
        await syncFolder(dir);
        return { journal: new Journal(dir, file, MAGIC.length, 0, options), records: [], truncatedBytes: 0 };
      }
      if (!data.subarray(0, MAGIC.length).equals(MAGIC)) {
        throw new Error(`${path} is not a Parley journal (or was written by a newer version); move it away to start with an empty one`);
      }
      const { records, end } = readFrames(data);
      const truncatedBytes = data.length - end;
      if (truncatedBytes > 0) {
        await file.truncate(end);
        await file.datasync();
      }
      const journal = new Journal(dir, file, end, records.length, options);
      return { journal, records: sortBySeq(records), truncatedBytes };
    } catch (error) {
      await file.close();
      throw error;
    }
  }

  private constructor(dir: string, file: FileHandle, size: number, recordCount: number, options: JournalOptions) {
    this.#dir = dir;
    this.#path = join(dir, JOURNAL_FILE);
    this.#tempPath = join(dir, COMPACT_FILE);
    this.#file = file;
    this.#size = size;
    this.#recordCount = recordCount;
    this.#onFsync = options.onFsync;
  }

  get sizeBytes(): number {
    return this.#size;
  }

  get recordCount(): number {
    return this.#recordCount;
  }

  /** Set once a sync failed: nothing more will be written until a restart. */
  get broken(): Error | null {
    return this.#broken;
  }

  append(records: Change[]): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('the journal is closed'));
    if (this.#broken !== null) return Promise.reject(this.#broken);
    if (records.length === 0) return Promise.resolve();
    let frames: Buffer[];
    try {
      frames = records.map(encodeFrame);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return new Promise((resolve, reject) => {
      this.#appends.push({ frames, resolve, reject });
      this.#wakeWriter();
    });
  }

  /**
   * Rewrites the file to what is worth keeping (see the top of the file). `writeSnapshot` gets
   * the temp file's path and must write into it, as a whole synced journal, every record to
   * keep among those appended before this call; it may run elsewhere (a worker thread) while
   * appends go on. One compaction at a time: a call while one runs resolves at once.
   */
  async compact(writeSnapshot: (path: string) => Promise<Snapshot>): Promise<void> {
    if (this.#closed) throw new Error('the journal is closed');
    if (this.#broken !== null) throw this.#broken;
    if (this.#isCompacting) return;
    this.#isCompacting = true;
    try {
      // Every append made so far has been written and synced: the writer loop finishes a batch
      // before it resolves it, and the caller calls this between its appends.
      const mark = { offset: this.#size, records: this.#recordCount };
      const snapshot = await writeSnapshot(this.#tempPath).catch(async (error: unknown) => {
        await unlink(this.#tempPath).catch(() => {});
        throw error;
      });
      await new Promise<void>((resolve, reject) => {
        this.#swap = { mark, snapshot, resolve, reject };
        this.#wakeWriter();
      });
    } finally {
      this.#isCompacting = false;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#writing) await this.#written;
    await this.#file.close();
  }

  #wakeWriter(): void {
    if (this.#writing) return;
    this.#writing = true;
    this.#written = this.#drain();
  }

  // The single writer loop. `#writing` goes false in the same synchronous step that finds
  // nothing to do, so work can never be queued without a loop running to take it.
  async #drain(): Promise<void> {
    await Promise.resolve(); // appends made in the same tick join this first write
    while (this.#appends.length > 0 || this.#swap !== null) {
      if (this.#swap !== null) {
        const swap = this.#swap;
        this.#swap = null;
        await this.#swapIn(swap);
      } else {
        await this.#commit(this.#appends.splice(0));
      }
    }
    this.#writing = false;
  }

  async #commit(batch: Waiting[]): Promise<void> {
    const frames = batch.flatMap((waiting) => waiting.frames);
    const data = Buffer.concat(frames);
    const started = performance.now();
    try {
      if (this.#broken !== null) throw this.#broken;
      try {
        await writeAll(this.#file, data);
      } catch (error) {
        // Cut a partial write off so the next commit does not land after half a frame.
        await this.#file.truncate(this.#size).catch((cause: unknown) => this.#breakOn(cause));
        throw error;
      }
      await this.#file.datasync().catch((cause: unknown) => {
        throw this.#breakOn(cause);
      });
    } catch (error) {
      for (const waiting of batch) waiting.reject(error as Error);
      return;
    }
    this.#size += data.length;
    this.#recordCount += frames.length;
    for (const waiting of batch) waiting.resolve();
    this.#reportSync(started, frames.length);
  }

  // The second half of a compaction: the tail appended since the mark goes after the snapshot,
  // and the new file takes the old one's place.
  async #swapIn({ mark, snapshot, resolve, reject }: Swap): Promise<void> {
    const started = performance.now();
    const tailBytes = this.#size - mark.offset;
    const tailRecords = this.#recordCount - mark.records;
    try {
      if (this.#broken !== null) throw this.#broken;
      const tail = Buffer.allocUnsafe(tailBytes);
      const { bytesRead } = await this.#file.read(tail, 0, tailBytes, mark.offset);
      if (bytesRead !== tailBytes) throw new Error(`read ${bytesRead} of the ${tailBytes} bytes appended during the compaction`);
      const temp = await open(this.#tempPath, 'a');
      try {
        await writeAll(temp, tail);
        await temp.sync();
      } finally {
        await temp.close();
      }
      await rename(this.#tempPath, this.#path);
    } catch (error) {
      await unlink(this.#tempPath).catch(ignoreMissing);
      reject(error as Error); // the old file is untouched and goes on
      return;
    }
    // From here the new file is in place; the old handle points at an unlinked file.
    try {
      const old = this.#file;
      this.#file = await open(this.#path, 'a+');
      await old.close().catch(() => {});
      await syncFolder(this.#dir);
    } catch (error) {
      reject(this.#breakOn(error));
      return;
    }
    this.#size = snapshot.bytes + tailBytes;
    this.#recordCount = snapshot.records + tailRecords;
    resolve();
    this.#reportSync(started, this.#recordCount);
  }

  #breakOn(cause: unknown): Error {
    this.#broken ??= new Error(`the journal ${this.#path} could not be written safely (${(cause as Error).message ?? cause}); restart to recover from what is on disk`, { cause });
    return this.#broken;
  }

  #reportSync(started: number, records: number): void {
    try {
      this.#onFsync?.((performance.now() - started) / 1000, records);
    } catch (error) {
      process.emitWarning(`journal onFsync listener threw: ${(error as Error).message}`);
    }
  }
}

function sortBySeq(records: Change[]): Change[] {
  const sorted = records.slice().sort((a, b) => a.seq - b.seq);
  return sorted.filter((record, i) => i === 0 || record.seq !== sorted[i - 1]!.seq);
}

async function writeAll(file: FileHandle, data: Buffer): Promise<void> {
  let written = 0;
  while (written < data.length) {
    const { bytesWritten } = await file.write(data, written, data.length - written);
    written += bytesWritten;
  }
}

function ignoreMissing(error: NodeJS.ErrnoException): void {
  if (error.code !== 'ENOENT') throw error;
}
