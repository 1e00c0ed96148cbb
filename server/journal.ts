// The append-only file behind the ring: every change is on disk (fdatasync'ed) before its
// sender is told it succeeded, and replaying the file on start rebuilds the ring.
//
//   journal.log   "PRLYJNL1" | frame | frame | ... | frame      (little-endian u32s)
//   frame         [u32 payload length][u32 CRC-32 of payload][payload: the Change as JSON]
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
// sorted by seq (several workers' changes may reach the journal slightly out of order) with
// duplicate seqs dropped (a compaction may have carried an append that also landed after it).
//
// Compaction writes the retained records, plus any appends waiting at that moment, to
// journal.log.compact, syncs it, renames it over journal.log and syncs the folder. A crash at
// any step leaves either the old file or the new one, both whole; a leftover temp file is
// deleted on open. Appends made during a compaction queue behind it and go to the new file.
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Change } from './ring-buffer.js';

export interface JournalOptions {
  /** Called after every sync with its duration and how many records it made durable. */
  onFsync?: (seconds: number, records: number) => void;
}
export interface OpenedJournal { journal: Journal; records: Change[]; truncatedBytes: number }

export const JOURNAL_FILE = 'journal.log';
const COMPACT_FILE = 'journal.log.compact';
const MAGIC = Buffer.from('PRLYJNL1', 'latin1');
const FRAME_HEADER_BYTES = 8;
/** A 4,000-character message is at most ~16 KiB of JSON; anything far beyond is corruption. */
export const MAX_RECORD_BYTES = 1024 * 1024;

interface Waiting { frames: Buffer[]; seqs: number[]; resolve: () => void; reject: (error: Error) => void }

export class Journal {
  readonly #dir: string;
  readonly #path: string;
  readonly #onFsync: JournalOptions['onFsync'];
  #file: FileHandle;
  #size: number;
  #recordCount: number;
  #appends: Waiting[] = [];
  #compactions: Waiting[] = [];
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

  append(records: Change[]): Promise<void> {
    return this.#enqueue(this.#appends, records);
  }

  /** Rewrites the file to `retained` plus any appends still waiting; see the top of the file. */
  compact(retained: Change[]): Promise<void> {
    return this.#enqueue(this.#compactions, retained, true);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#writing) await this.#written;
    await this.#file.close();
  }

  #enqueue(queue: Waiting[], records: Change[], always = false): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('the journal is closed'));
    if (this.#broken !== null) return Promise.reject(this.#broken);
    if (records.length === 0 && !always) return Promise.resolve();
    let frames: Buffer[];
    try {
      frames = records.map(encodeFrame);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return new Promise((resolve, reject) => {
      queue.push({ frames, seqs: records.map((record) => record.seq), resolve, reject });
      if (!this.#writing) {
        this.#writing = true;
        this.#written = this.#drain();
      }
    });
  }

  // The single writer loop. `#writing` goes false in the same synchronous step that finds both
  // queues empty, so an append can never be queued without a loop running to take it.
  async #drain(): Promise<void> {
    await Promise.resolve(); // appends made in the same tick join this first write
    while (this.#appends.length > 0 || this.#compactions.length > 0) {
      if (this.#compactions.length > 0) await this.#compactNow(this.#compactions.shift()!);
      else await this.#commit(this.#appends.splice(0));
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

  async #compactNow(job: Waiting): Promise<void> {
    // Appends waiting now are newer than the caller's snapshot: they go into the new file
    // (once, even if the snapshot has them too) and are acknowledged by its sync.
    const riders = this.#appends.splice(0);
    const retainedSeqs = new Set(job.seqs);
    const riderFrames: Buffer[] = [];
    for (const waiting of riders) {
      waiting.frames.forEach((frame, i) => {
        if (!retainedSeqs.has(waiting.seqs[i]!)) riderFrames.push(frame);
      });
    }
    const everyone = [job, ...riders];
    const data = Buffer.concat([MAGIC, ...job.frames, ...riderFrames]);
    const tempPath = join(this.#dir, COMPACT_FILE);
    const started = performance.now();
    try {
      if (this.#broken !== null) throw this.#broken;
      const temp = await open(tempPath, 'w');
      try {
        await writeAll(temp, data);
        await temp.sync();
      } finally {
        await temp.close();
      }
      await rename(tempPath, this.#path);
    } catch (error) {
      await unlink(tempPath).catch(ignoreMissing);
      job.reject(error as Error);
      this.#appends.unshift(...riders); // the old file is untouched: commit them there
      return;
    }
    // From here the new file is in place; the old handle points at an unlinked file.
    try {
      const old = this.#file;
      this.#file = await open(this.#path, 'a+');
      await old.close().catch(() => {});
      await syncFolder(this.#dir);
    } catch (error) {
      const broken = this.#breakOn(error);
      for (const waiting of everyone) waiting.reject(broken);
      return;
    }
    this.#size = data.length;
    this.#recordCount = job.frames.length + riderFrames.length;
    for (const waiting of everyone) waiting.resolve();
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

function encodeFrame(change: Change): Buffer {
  const payload = Buffer.from(JSON.stringify(change), 'utf8');
  if (payload.length > MAX_RECORD_BYTES) {
    throw new RangeError(`change ${change.seq} is ${payload.length} bytes as JSON; a journal record holds at most ${MAX_RECORD_BYTES}`);
  }
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeUInt32LE(crc32(payload), 4);
  payload.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

function readFrames(data: Buffer): { records: Change[]; end: number } {
  const records: Change[] = [];
  let at = MAGIC.length;
  while (at + FRAME_HEADER_BYTES <= data.length) {
    const length = data.readUInt32LE(at);
    if (length === 0 || length > MAX_RECORD_BYTES || at + FRAME_HEADER_BYTES + length > data.length) break;
    const payload = data.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + length);
    if (crc32(payload) !== data.readUInt32LE(at + 4)) break;
    const change = parseChange(payload);
    if (change === undefined) break;
    records.push(change);
    at += FRAME_HEADER_BYTES + length;
  }
  return { records, end: at };
}

function parseChange(payload: Buffer): Change | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const { seq, timeMs } = record;
  if (!isSeq(seq) || typeof timeMs !== 'number') return undefined;
  if (record.kind === 'delete' && isSeq(record.messageId)) {
    return { kind: 'delete', seq, messageId: record.messageId, timeMs };
  }
  const { user, text, clientId, deletedAt } = record;
  if (record.kind === 'message' && typeof user === 'string' && typeof text === 'string' &&
    (clientId === null || typeof clientId === 'string') && (deletedAt === 0 || isSeq(deletedAt))) {
    return { kind: 'message', seq, user, text, timeMs, clientId, deletedAt };
  }
  return undefined;
}

function isSeq(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) > 0;
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

// A rename or a new file is durable only once its folder is synced.
async function syncFolder(dir: string): Promise<void> {
  const folder = await open(dir, 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}

function ignoreMissing(error: NodeJS.ErrnoException): void {
  if (error.code !== 'ENOENT') throw error;
}

// CRC-32 (IEEE 802.3, as zlib and PNG): Node 20 has no zlib.crc32 (added in 22.2).
const CRC_TABLE = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  CRC_TABLE[n] = c;
}

export function crc32(bytes: Uint8Array): number {
  let crc = -1;
  for (let i = 0; i < bytes.length; i++) crc = CRC_TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}
