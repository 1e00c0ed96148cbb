// Reads one Server-Sent Events response from raw socket bytes: the HTTP head, the body (chunked
// or not), then the event stream (https://html.spec.whatwg.org/multipage/server-sent-events.html).
// Pure: bytes in, events out, no socket, so one swarm process can hold thousands of streams
// without an EventSource object or an http.ClientRequest each.
//
//   HTTP/1.1 200 OK\r\n ... \r\n\r\n   <- HEAD: status and Transfer-Encoding
//   5a\r\n                             <- CHUNK_SIZE (only when chunked)
//   id: 17\nevent: message\ndata: {...}\n\n   <- CHUNK_DATA -> the event lines
//   \r\n                               <- CHUNK_END
import { StringDecoder } from 'node:string_decoder';

export interface SseEvent {
  event: string;
  data: string;
  id: string | undefined;
}

export type SseParseResult = { ok: true } | { ok: false; message: string };

const HEAD = 0;
const CHUNK_SIZE = 1;
const CHUNK_DATA = 2;
const CHUNK_END = 3;
const RAW_BODY = 4;
const FAILED = 5;

/** A head larger than this is not a server we are testing. */
const MAX_HEAD_BYTES = 16 * 1024;

export class SseParser {
  /** HTTP status once the head is read. */
  status: number | undefined;
  readonly #onEvent: (event: SseEvent) => void;
  readonly #decoder = new StringDecoder('utf8');
  #state = HEAD;
  #head = '';
  /** Undecoded bytes of a chunk-size line or chunk end split across reads. */
  #line = '';
  #chunkLeft = 0;
  /** Event-stream text not yet ended by a newline. */
  #text = '';
  #event = '';
  #data: string[] = [];
  #id: string | undefined;

  constructor(onEvent: (event: SseEvent) => void) {
    this.#onEvent = onEvent;
  }

  push(chunk: Buffer): SseParseResult {
    let at = 0;
    while (at < chunk.length) {
      switch (this.#state) {
        case HEAD: {
          const text = chunk.toString('latin1', at);
          const end = (this.#head + text).indexOf('\r\n\r\n');
          if (end === -1) {
            this.#head += text;
            if (this.#head.length > MAX_HEAD_BYTES) return this.#fail('the response head is over 16 KiB');
            return { ok: true };
          }
          const used = end + 4 - this.#head.length;
          const head = (this.#head + text).slice(0, end);
          this.#head = '';
          at += used;
          const failure = this.#readHead(head);
          if (failure) return this.#fail(failure);
          break;
        }
        case CHUNK_SIZE:
        case CHUNK_END: {
          const newline = chunk.indexOf(0x0a, at);
          if (newline === -1) {
            this.#line += chunk.toString('latin1', at);
            return { ok: true };
          }
          const line = (this.#line + chunk.toString('latin1', at, newline)).trim();
          this.#line = '';
          at = newline + 1;
          if (this.#state === CHUNK_END) {
            if (line !== '') return this.#fail('a chunk did not end with CRLF');
            this.#state = CHUNK_SIZE;
            break;
          }
          const size = Number.parseInt(line.split(';')[0]!, 16);
          if (!Number.isFinite(size)) return this.#fail(`bad chunk size line ${JSON.stringify(line)}`);
          if (size === 0) return this.#fail('the server ended the stream');
          this.#chunkLeft = size;
          this.#state = CHUNK_DATA;
          break;
        }
        case CHUNK_DATA: {
          const end = Math.min(chunk.length, at + this.#chunkLeft);
          this.#readText(chunk.subarray(at, end));
          this.#chunkLeft -= end - at;
          at = end;
          if (this.#chunkLeft === 0) this.#state = CHUNK_END;
          break;
        }
        case RAW_BODY:
          this.#readText(chunk.subarray(at));
          return { ok: true };
        default:
          return { ok: false, message: 'the stream already failed' };
      }
    }
    return { ok: true };
  }

  #readHead(head: string): string | undefined {
    const lines = head.split('\r\n');
    const match = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
    if (!match) return `not an HTTP response: ${JSON.stringify(lines[0])}`;
    this.status = Number(match[1]);
    if (this.status !== 200) return `the stream answered ${this.status}`;
    const chunked = lines.some((line) => /^transfer-encoding:.*chunked/i.test(line));
    if (!lines.some((line) => /^content-type:\s*text\/event-stream/i.test(line))) return 'the answer is not text/event-stream';
    this.#state = chunked ? CHUNK_SIZE : RAW_BODY;
    return undefined;
  }

  #readText(bytes: Buffer): void {
    this.#text += this.#decoder.write(bytes);
    let start = 0;
    for (;;) {
      const newline = this.#text.indexOf('\n', start);
      if (newline === -1) break;
      const end = newline > start && this.#text.charCodeAt(newline - 1) === 0x0d ? newline - 1 : newline;
      this.#readLine(this.#text.slice(start, end));
      start = newline + 1;
    }
    this.#text = this.#text.slice(start);
  }

  #readLine(line: string): void {
    if (line === '') {
      if (this.#data.length > 0) this.#onEvent({ event: this.#event || 'message', data: this.#data.join('\n'), id: this.#id });
      this.#event = '';
      this.#data = [];
      return;
    }
    if (line.charCodeAt(0) === 0x3a) return; // ":" comment (heartbeat)
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 0x20) value = value.slice(1);
    if (field === 'data') this.#data.push(value);
    else if (field === 'event') this.#event = value;
    else if (field === 'id') this.#id = value;
  }

  #fail(message: string): SseParseResult {
    this.#state = FAILED;
    return { ok: false, message };
  }
}
