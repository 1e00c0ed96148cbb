#!/usr/bin/env node
// Peer "plain": the floor any threaded design must beat. The routes of Parley's API that the
// benchmarks use, handled inline on the main thread with node:http and node:net, messages in
// an array, sessions in a Map, no journal (the send target compares Parley, journal on, against
// this peer with nothing to write). Written the way a careful person writes it by hand: one
// JSON.stringify per answer, one serialisation per pushed message shared by every subscriber.
//
//   node bench/peers/plain-http.mjs [--host 127.0.0.1] [--http-port 0] [--tcp-port 0]
//
// Prints `PEER_READY {"httpPort":N,"tcpPort":M}` once both listeners are bound. A plain .mjs run
// from source, like the Python peer: a peer is a standalone program anyone can start by hand.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { parseArgs } from 'node:util';

const MAX_BODY_BYTES = 64 * 1024;
const MAX_TEXT_LENGTH = 4000;
const MAX_USERNAME_LENGTH = 32;
const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;
const HEARTBEAT_MS = 15_000;
const COOKIE_NAME = 'session';

const { values: flags } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    'http-port': { type: 'string', default: '0' },
    'tcp-port': { type: 'string', default: '0' },
  },
});

/** messages[i].id === i + 1: no deletions, so an id is also the cursor. */
const messages = [];
const sessions = new Map();
/** Encoded pushes go to these: SSE responses and subscribed TCP sockets. */
const sseClients = new Set();
const tcpSubscribers = new Set();

function checkUsername(raw) {
  if (typeof raw !== 'string') return undefined;
  const name = raw.normalize('NFC').trim();
  const length = [...name].length;
  return length >= 1 && length <= MAX_USERNAME_LENGTH && !/[\u0000-\u001f\u007f]/.test(name) ? name : undefined;
}

function checkText(raw) {
  if (typeof raw !== 'string') return 'text must be a string';
  const text = raw.normalize('NFC');
  if (text.trim() === '') return 'text is empty';
  const length = [...text].length;
  return length > MAX_TEXT_LENGTH ? `text is ${length} characters; the limit is ${MAX_TEXT_LENGTH}` : { text };
}

function appendMessage(user, text) {
  const message = { id: messages.length + 1, user, text, time: new Date().toISOString() };
  messages.push(message);
  const json = JSON.stringify(message);
  const sse = `id: ${message.id}\nevent: message\ndata: ${json}\n\n`;
  for (const res of sseClients) res.write(sse);
  const frame = `{"event":"message","cursor":${message.id},"message":${json}}\n`;
  for (const socket of tcpSubscribers) socket.write(frame);
  return message;
}

function changesAfter(last, limit) {
  const page = messages.slice(last, last + limit);
  return { messages: page, deleted: [], last: page.length > 0 ? page[page.length - 1].id : Math.min(last, messages.length) };
}

// ---- HTTP ------------------------------------------------------------------------------------

function send(res, status, body, headers = {}) {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json), ...headers });
  res.end(json);
}

function fail(res, status, error) {
  send(res, status, { error });
}

function sessionOf(req) {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === COOKIE_NAME) return sessions.get(part.slice(eq + 1).trim());
  }
  return undefined;
}

function readJson(req, res, onBody) {
  if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) return fail(res, 415, 'send JSON');
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      fail(res, 413, 'the body is over 64 KiB');
      req.destroy();
    } else chunks.push(chunk);
  });
  req.on('end', () => {
    if (size > MAX_BODY_BYTES) return;
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return fail(res, 400, 'the body is not valid JSON');
    }
    if (typeof body !== 'object' || body === null) return fail(res, 400, 'the body must be a JSON object');
    onBody(body);
  });
}

function cursorParam(url, name) {
  const raw = url.searchParams.get(name);
  if (raw === null) return undefined;
  return /^\d+$/.test(raw) ? Number(raw) : NaN;
}

function handle(req, res) {
  const url = new URL(req.url, 'http://peer');
  const route = `${req.method} ${url.pathname}`;
  if (route === 'POST /api/login') {
    return readJson(req, res, (body) => {
      const username = checkUsername(body.username);
      if (!username) return fail(res, 400, 'username must be 1 to 32 visible characters');
      const token = randomBytes(18).toString('base64url');
      sessions.set(token, username);
      send(res, 200, { username }, { 'set-cookie': `${COOKIE_NAME}=${token}; HttpOnly; SameSite=Strict; Path=/` });
    });
  }
  if (!url.pathname.startsWith('/api/')) return fail(res, 404, 'no such path');
  const username = sessionOf(req);
  if (!username) return fail(res, 401, 'log in first');
  if (route === 'GET /api/messages') {
    const last = cursorParam(url, 'last');
    const limit = cursorParam(url, 'limit') ?? DEFAULT_PAGE_SIZE;
    if (Number.isNaN(last) || Number.isNaN(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
      return fail(res, 400, 'last and limit must be whole numbers, limit 1 to 1000');
    }
    return send(res, 200, changesAfter(last ?? Math.max(0, messages.length - limit), limit));
  }
  if (route === 'POST /api/messages') {
    return readJson(req, res, (body) => {
      const checked = checkText(body.text);
      if (typeof checked === 'string') return fail(res, 400, checked);
      send(res, 201, appendMessage(username, checked.text));
    });
  }
  if (route === 'GET /api/events') {
    const last = cursorParam(url, 'last') ?? Number(req.headers['last-event-id'] ?? messages.length);
    if (!Number.isSafeInteger(last)) return fail(res, 400, 'last must be a whole number');
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    // Without this Node holds the head back until the first event, and a client waits blind.
    res.flushHeaders();
    for (const message of messages.slice(last)) {
      res.write(`id: ${message.id}\nevent: message\ndata: ${JSON.stringify(message)}\n\n`);
    }
    sseClients.add(res);
    res.on('close', () => sseClients.delete(res));
    return;
  }
  fail(res, 404, 'no such route');
}

const http = createServer({ keepAliveTimeout: 65_000 }, handle);
http.on('clientError', (_error, socket) => socket.destroy());

// ---- TCP (login, logout, subscribe, send, ping: what the fan-out and idle scenarios use) -----

const HELLO = JSON.stringify({
  event: 'hello',
  server: 'parley',
  protocol: 1,
  limits: { maxFrameBytes: MAX_BODY_BYTES, maxTextLength: MAX_TEXT_LENGTH },
});

function answer(socket, request) {
  const reply = (body) => socket.write(`${JSON.stringify({ id: request.id, ok: true, ...body })}\n`);
  const refuse = (code, message) => socket.write(`${JSON.stringify({ id: request.id ?? null, ok: false, error: { code, message } })}\n`);
  if (request.op === 'ping') return reply({ time: new Date().toISOString() });
  if (request.op === 'login') {
    const username = checkUsername(request.username);
    if (!username) return refuse('INVALID_USERNAME', 'username must be 1 to 32 visible characters');
    socket.username = username;
    return reply({ username, token: randomBytes(18).toString('base64url') });
  }
  if (!socket.username) return refuse('NOT_LOGGED_IN', 'log in first');
  if (request.op === 'logout') {
    socket.username = undefined;
    tcpSubscribers.delete(socket);
    return reply({});
  }
  if (request.op === 'subscribe') {
    const last = Number.isSafeInteger(request.last) ? request.last : messages.length;
    for (const message of messages.slice(last)) {
      socket.write(`{"event":"message","cursor":${message.id},"message":${JSON.stringify(message)}}\n`);
    }
    tcpSubscribers.add(socket);
    return reply({ last: messages.length, missed: false });
  }
  if (request.op === 'send') {
    const checked = checkText(request.text);
    if (typeof checked === 'string') return refuse('TEXT_EMPTY', checked);
    return reply({ message: appendMessage(socket.username, checked.text), duplicate: false });
  }
  refuse('UNKNOWN_OP', `unknown op ${JSON.stringify(request.op)}`);
}

const tcp = createTcpServer((socket) => {
  socket.setNoDelay(true);
  socket.write(`${HELLO}\n`);
  let pending = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => {
    pending += chunk;
    let newline;
    while ((newline = pending.indexOf('\n')) !== -1) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      let request;
      try {
        request = JSON.parse(line);
      } catch {
        socket.end(`${JSON.stringify({ id: null, ok: false, error: { code: 'BAD_JSON', message: 'not JSON' } })}\n`);
        return;
      }
      answer(socket, request);
    }
    if (pending.length > MAX_BODY_BYTES) socket.destroy();
  });
  socket.on('error', () => {});
  socket.on('close', () => tcpSubscribers.delete(socket));
});

setInterval(() => {
  for (const res of sseClients) res.write(': heartbeat\n\n');
}, HEARTBEAT_MS).unref();

const host = flags.host;
await new Promise((resolve) => http.listen(Number(flags['http-port']), host, resolve));
await new Promise((resolve) => tcp.listen(Number(flags['tcp-port']), host, resolve));
console.log(`PEER_READY ${JSON.stringify({ httpPort: http.address().port, tcpPort: tcp.address().port })}`);
process.on('SIGTERM', () => process.exit(0));
