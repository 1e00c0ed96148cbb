// Splits a byte stream into newline-delimited frames. Pure: bytes in, frames or an error out,
// no socket, so the server, the desktop client and the tests share it and can feed it single
// bytes, split frames or garbage.
//
//   ...{"id":1,"op":"ping"}\n{"id":2,"op":"se | nd","text":"hi"}\n
//      '------ frame ------'  '----- buffered until the newline ----'
//
// Frames are measured in UTF-8 bytes (never characters), and a chunk may hold any number of
// frames or a fraction of one: nothing assumes one read per frame.

export const NEWLINE = 0x0a;

export type DecodeResult =
  | { ok: true; frames: string[] }
  | { ok: false; frames: string[]; limit: number; size: number };

export class FrameDecoder {
  readonly #maxFrameBytes: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #failed = false;

  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** Bytes of an unfinished frame held so far (for idle-timeout decisions). */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /**
   * Feeds a chunk. Returns the frames it completed. Once a frame exceeds the limit the decoder
   * reports it (with the frames completed before it) and stays failed: the stream cannot be
   * resynchronised safely, so the caller answers with an error and closes.
   */
  push(chunk: Buffer): DecodeResult {
    if (this.#failed) return { ok: false, frames: [], limit: this.#maxFrameBytes, size: this.#pendingBytes };
    const frames: string[] = [];
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(NEWLINE, start);
      if (newline === -1) break;
      const size = this.#pendingBytes + newline - start;
      if (size > this.#maxFrameBytes) return this.#fail(frames, size);
      let line: Buffer = chunk.subarray(start, newline);
      if (this.#pendingBytes > 0) {
        this.#pending.push(line);
        line = Buffer.concat(this.#pending, size);
        this.#pending = [];
        this.#pendingBytes = 0;
      }
      frames.push(stripCarriageReturn(line.toString('utf8')));
      start = newline + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      const size = this.#pendingBytes + rest.length;
      if (size > this.#maxFrameBytes) return this.#fail(frames, size);
      // Copy: the socket may reuse the chunk's memory after this call returns.
      this.#pending.push(Buffer.from(rest));
      this.#pendingBytes = size;
    }
    return { ok: true, frames };
  }

  #fail(frames: string[], size: number): DecodeResult {
    this.#failed = true;
    this.#pending = [];
    this.#pendingBytes = 0;
    return { ok: false, frames, limit: this.#maxFrameBytes, size };
  }
}

// `nc` and telnet users may send CRLF; the JSON inside never contains a raw CR.
function stripCarriageReturn(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

export function encodeFrame(frame: object): string {
  return `${JSON.stringify(frame)}\n`;
}
