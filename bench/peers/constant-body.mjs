#!/usr/bin/env node
// Peer "ceiling": not a chat server. Answers GET /api/messages with a constant, pre-encoded
// body the size of a real 10-message answer, with no session check and no store, the way the
// issue's nginx fixed-body figure was taken. What one Node thread and the load generator reach
// on this machine; every other figure in the polling table reads against it.
//
//   node bench/peers/constant-body.mjs [--host 127.0.0.1] [--http-port 0]
//
// It also takes POST /api/login and echoes POST /api/messages, so the harness's answer
// checks run unchanged.
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values: flags } = parseArgs({
  options: { host: { type: 'string', default: '127.0.0.1' }, 'http-port': { type: 'string', default: '0' } },
});

const time = new Date().toISOString();
const page = Array.from({ length: 11 }, (_, i) => ({
  id: i + 1,
  user: 'poller-1',
  text: `seed message ${i + 1}: the quick brown fox jumps over the lazy dog`,
  time,
}));
const encode = (messages) => Buffer.from(JSON.stringify({ messages, deleted: [], last: 11 }));
const newest11 = encode(page);
const after1 = encode(page.slice(1));
let nextId = 12;

function send(res, status, body, extra = {}) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length, ...extra });
  res.end(body);
}

createServer((req, res) => {
  if (req.method === 'GET') return send(res, 200, req.url.includes('last=') ? after1 : newest11);
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString() || '{}');
    if (req.url === '/api/login') {
      return send(res, 200, Buffer.from(JSON.stringify({ username: body.username })), { 'set-cookie': 'session=constant; Path=/' });
    }
    send(res, 201, Buffer.from(JSON.stringify({ id: nextId++, user: 'poller-1', text: body.text, time })));
  });
}).listen(Number(flags['http-port']), flags.host, function () {
  console.log(`PEER_READY ${JSON.stringify({ httpPort: this.address().port })}`);
});
process.on('SIGTERM', () => process.exit(0));
