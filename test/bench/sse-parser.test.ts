// The raw SSE reader the fan-out swarms use: whole responses, single bytes, chunked and plain
// bodies, heartbeats, and answers that are not streams.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SseParser, type SseEvent } from '../../bench/lib/sse-parser.js';
import { messageText } from '../../bench/lib/sse-client.js';

const HEAD_CHUNKED = 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n';
const HEAD_PLAIN = 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: keep-alive\r\n\r\n';
const EVENT = 'id: 17\nevent: message\ndata: {"id":17,"user":"ada","text":"héllo ✓","time":"2026-11-23T20:00:00.000Z"}\n\n';

function chunk(text: string): string {
  return `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;
}

function parse(pieces: Buffer[]): { events: SseEvent[]; results: ReturnType<SseParser['push']>[]; parser: SseParser } {
  const events: SseEvent[] = [];
  const parser = new SseParser((event) => events.push(event));
  const results = pieces.map((piece) => parser.push(piece));
  return { events, results, parser };
}

function bytesOf(text: string): Buffer[] {
  const all = Buffer.from(text);
  return Array.from(all, (_, i) => all.subarray(i, i + 1));
}

test('reads a chunked stream delivered in one piece', () => {
  const { events, results, parser } = parse([Buffer.from(HEAD_CHUNKED + chunk(': heartbeat\n\n') + chunk(EVENT) + chunk(EVENT))]);
  assert.ok(results.every((r) => r.ok));
  assert.equal(parser.status, 200);
  assert.equal(events.length, 2);
  assert.deepEqual(events[0], { event: 'message', id: '17', data: EVENT.split('data: ')[1]!.trim() });
  assert.equal(messageText(events[0]!), 'héllo ✓');
});

test('reads the same stream fed one byte at a time (multi-byte characters split too)', () => {
  const { events, results } = parse(bytesOf(HEAD_CHUNKED + chunk(EVENT) + chunk(EVENT)));
  assert.ok(results.every((r) => r.ok));
  assert.deepEqual(events.map(messageText), ['héllo ✓', 'héllo ✓']);
});

test('reads a body without chunked encoding, CRLF line ends and multi-line data', () => {
  const { events } = parse([Buffer.from(`${HEAD_PLAIN}event: delete\r\nid: 18\r\ndata: {"id":\r\ndata: 17}\r\n\r\n`)]);
  assert.deepEqual(events, [{ event: 'delete', id: '18', data: '{"id":\n17}' }]);
  assert.equal(messageText(events[0]!), undefined);
});

test('takes a message wrapped as {"message": ...} too', () => {
  const wrapped = { event: 'message', id: '3', data: '{"cursor":3,"message":{"id":3,"user":"a","text":"hi","time":"t"}}' };
  assert.equal(messageText(wrapped), 'hi');
});

test('fails on a 401 answer with the status in the message', () => {
  const { results, parser } = parse([Buffer.from('HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n\r\n{}')]);
  assert.deepEqual(results[0], { ok: false, message: 'the stream answered 401' });
  assert.equal(parser.status, 401);
});

test('fails on a 200 that is not an event stream, and on garbage', () => {
  const json = parse([Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{}')]);
  assert.deepEqual(json.results[0], { ok: false, message: 'the answer is not text/event-stream' });
  const garbage = parse([Buffer.from('SSH-2.0-OpenSSH\r\n\r\n')]);
  assert.deepEqual(garbage.results[0], { ok: false, message: 'not an HTTP response: "SSH-2.0-OpenSSH"' });
});

test('reports the end of a chunked stream as a failure (the server closed it)', () => {
  const { results } = parse([Buffer.from(HEAD_CHUNKED + chunk(EVENT) + '0\r\n\r\n')]);
  assert.deepEqual(results[0], { ok: false, message: 'the server ended the stream' });
});
