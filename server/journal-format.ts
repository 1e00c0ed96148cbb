// The bytes of journal.log, without the file: a frame encoder and a reader that stops at the
// first frame it cannot trust. Pure (bytes in, records out), so the journal, the worker that
// writes compaction snapshots and the tests all share one definition.
//
//   journal.log   "PRLYJNL1" | frame | frame | ... | frame      (little-endian u32s)
//   frame         [u32 payload length][u32 CRC-32 of payload][payload: the Change as JSON]
import type { Change } from './ring-buffer.js';

export const MAGIC = Buffer.from('PRLYJNL1', 'latin1');
const FRAME_HEADER_BYTES = 8;
/** A 4,000-character message is at most ~16 KiB of JSON; anything far beyond is corruption. */
export const MAX_RECORD_BYTES = 1024 * 1024;

export function encodeFrame(change: Change): Buffer {
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

/**
 * The records of a whole file (magic included), up to the first frame whose length is
 * impossible, whose CRC does not match or whose JSON is not a Change; `end` is where that is.
 */
export function readFrames(data: Buffer): { records: Change[]; end: number } {
  return readFramesFrom(data, MAGIC.length);
}

/** The same for frames starting at `start` (a stretch of frames without the magic). */
export function readFramesFrom(data: Buffer, start: number): { records: Change[]; end: number } {
  const records: Change[] = [];
  let at = start;
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
