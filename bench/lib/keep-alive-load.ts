// A lean HTTP/1.1 load generator: N keep-alive connections, each sending one pre-encoded
// request, reading the answer (status, Content-Length or chunked body), and sending the next.
//
// Why not only autocannon: on the 2-core machine the generator and the server share the CPU,
// and autocannon spends about twice the CPU per request that this loop does (measured here:
// against a node:http server answering a constant body, autocannon peaks near 27k requests/s,
// this loop near 46k). With autocannon every system hits the generator's ceiling first and all
// ratios squeeze towards 1.0. `--generator autocannon` still runs autocannon, as a cross-check.
//
//   write request -> [HEAD: "HTTP/1.1 200 ...\r\n...\r\n\r\n"] -> [BODY: length | chunks] -> next
import { connect, type Socket } from 'node:net';
import { createHistogram, recordLatency } from './histogram.js';
import { HOST } from './paths.js';

/** A request that gets no complete answer in this time counts as failed; its socket is replaced. */
const REQUEST_TIMEOUT_MS = 10_000;
const CRLF2 = Buffer.from('\r\n\r\n');

export interface KeepAliveLoad {
  port: number;
  /** One pre-encoded request per connection (cookies differ), reused for every request on it. */
  requests: Buffer[];
  seconds: number;
  expectStatus: number;
}

export interface KeepAliveResult {
  correct: number;
  failed: number;
  statuses: Record<string, number>;
  seconds: number;
  latency: Uint32Array;
}

export function encodeRequest(method: string, path: string, headers: Record<string, string>, body?: string): Buffer {
  const lines = [`${method} ${path} HTTP/1.1`, `Host: ${HOST}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  if (body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body ?? ''}`);
}

/** Bytes of a complete chunked body at the start of `data`, or -1 when it is not all here yet. */
function chunkedLength(data: Buffer, start: number): number {
  let at = start;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at, 'latin1');
    if (lineEnd === -1) return -1;
    const size = Number.parseInt(data.toString('latin1', at, lineEnd), 16);
    if (!Number.isFinite(size)) throw new Error('bad chunk size');
    at = lineEnd + 2 + size + 2;
    if (at > data.length) return -1;
    if (size === 0) return at - start;
  }
}

export function runKeepAliveLoad(load: KeepAliveLoad): Promise<KeepAliveResult> {
  const result: KeepAliveResult = { correct: 0, failed: 0, statuses: {}, seconds: load.seconds, latency: createHistogram() };
  const sockets = new Set<Socket>();
  let isRunning = true;
  const started = performance.now();

  const count = (status: number) => {
    result.statuses[status] = (result.statuses[status] ?? 0) + 1;
    if (status === load.expectStatus) result.correct++;
    else result.failed++;
  };

  const open = (request: Buffer) => {
    if (!isRunning) return;
    const socket = connect({ host: HOST, port: load.port });
    sockets.add(socket);
    socket.setNoDelay(true);
    let pending: Buffer = Buffer.alloc(0);
    let sentAt = 0;
    let isReplaced = false;
    const send = () => {
      sentAt = performance.now();
      socket.write(request);
    };
    const replace = (failed: boolean) => {
      if (isReplaced) return;
      isReplaced = true;
      if (failed && isRunning) result.failed++;
      sockets.delete(socket);
      socket.destroy();
      open(request);
    };
    socket.setTimeout(REQUEST_TIMEOUT_MS, () => replace(true));
    socket.on('connect', send);
    socket.on('error', () => replace(true));
    socket.on('close', () => replace(false));
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      for (;;) {
        const headEnd = pending.indexOf(CRLF2);
        if (headEnd === -1) return;
        const head = pending.toString('latin1', 0, headEnd);
        const status = Number(head.slice(9, 12));
        const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        let bodyLength: number;
        if (length) bodyLength = Number(length[1]);
        else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) bodyLength = chunkedLength(pending, headEnd + 4);
        else bodyLength = 0;
        if (bodyLength === -1 || pending.length < headEnd + 4 + bodyLength) return;
        pending = pending.subarray(headEnd + 4 + bodyLength);
        if (!isRunning) return;
        count(status);
        recordLatency(result.latency, performance.now() - sentAt);
        if (/\r\nconnection:\s*close/i.test(head)) return replace(false);
        send();
      }
    });
  };

  for (const request of load.requests) open(request);
  return new Promise((resolve) => {
    setTimeout(() => {
      isRunning = false;
      result.seconds = (performance.now() - started) / 1000;
      for (const socket of sockets) socket.destroy();
      resolve(result);
    }, load.seconds * 1000);
  });
}
