#!/usr/bin/env node
// Peer "fastify": the same routes as the plain peer (plain-http.mjs) written the way Fastify 5
// is meant to be used: response schemas (so answers go through fast-json-stringify), its own
// JSON body parser and body limit, a hook for the session. One thread, no journal, HTTP only.
//
//   node bench/peers/fastify.mjs [--host 127.0.0.1] [--http-port 0]
//
// Prints `PEER_READY {"httpPort":N}`. Fastify resolves from bench/node_modules because this file
// lives under bench/ and runs from source.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { fastify } from 'fastify';

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
  },
});

const messages = [];
const sessions = new Map();
const sseClients = new Set();

const messageSchema = {
  type: 'object',
  properties: { id: { type: 'integer' }, user: { type: 'string' }, text: { type: 'string' }, time: { type: 'string' } },
  required: ['id', 'user', 'text', 'time'],
};
const changesSchema = {
  type: 'object',
  properties: {
    messages: { type: 'array', items: messageSchema },
    deleted: { type: 'array', items: { type: 'integer' } },
    last: { type: 'integer' },
  },
};
const errorSchema = { type: 'object', properties: { error: { type: 'string' } } };

function checkUsername(raw) {
  if (typeof raw !== 'string') return undefined;
  const name = raw.normalize('NFC').trim();
  const length = [...name].length;
  return length >= 1 && length <= MAX_USERNAME_LENGTH && !/[\u0000-\u001f\u007f]/.test(name) ? name : undefined;
}

function sessionOf(cookieHeader) {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === COOKIE_NAME) return sessions.get(part.slice(eq + 1).trim());
  }
  return undefined;
}

const app = fastify({ logger: false, bodyLimit: MAX_BODY_BYTES, keepAliveTimeout: 65_000 });

app.post(
  '/api/login',
  { schema: { response: { 200: { type: 'object', properties: { username: { type: 'string' } } }, 400: errorSchema } } },
  async (request, reply) => {
    const username = checkUsername(request.body?.username);
    if (!username) return reply.code(400).send({ error: 'username must be 1 to 32 visible characters' });
    const token = randomBytes(18).toString('base64url');
    sessions.set(token, username);
    reply.header('set-cookie', `${COOKIE_NAME}=${token}; HttpOnly; SameSite=Strict; Path=/`);
    return { username };
  },
);

app.register(async (api) => {
  api.addHook('onRequest', async (request, reply) => {
    const username = sessionOf(request.headers.cookie);
    if (!username) return reply.code(401).send({ error: 'log in first' });
    request.username = username;
  });

  api.get(
    '/api/messages',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: { last: { type: 'integer', minimum: 0 }, limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE_SIZE } },
        },
        response: { 200: changesSchema },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? DEFAULT_PAGE_SIZE;
      const last = request.query.last ?? Math.max(0, messages.length - limit);
      const page = messages.slice(last, last + limit);
      return { messages: page, deleted: [], last: page.length > 0 ? page[page.length - 1].id : Math.min(last, messages.length) };
    },
  );

  api.post(
    '/api/messages',
    {
      schema: {
        body: { type: 'object', properties: { text: { type: 'string', minLength: 1 } }, required: ['text'] },
        response: { 201: messageSchema, 400: errorSchema },
      },
    },
    async (request, reply) => {
      const text = request.body.text.normalize('NFC');
      const length = [...text].length;
      if (text.trim() === '' || length > MAX_TEXT_LENGTH) {
        return reply.code(400).send({ error: `text must be 1 to ${MAX_TEXT_LENGTH} characters` });
      }
      const message = { id: messages.length + 1, user: request.username, text, time: new Date().toISOString() };
      messages.push(message);
      const event = `id: ${message.id}\nevent: message\ndata: ${JSON.stringify(message)}\n\n`;
      for (const raw of sseClients) raw.write(event);
      return reply.code(201).send(message);
    },
  );

  api.get('/api/events', (request, reply) => {
    const raw = request.query.last ?? request.headers['last-event-id'];
    const last = raw === undefined ? messages.length : Number(raw);
    if (!Number.isSafeInteger(last) || last < 0) return reply.code(400).send({ error: 'last must be a whole number' });
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    reply.raw.flushHeaders();
    for (const message of messages.slice(last)) {
      reply.raw.write(`id: ${message.id}\nevent: message\ndata: ${JSON.stringify(message)}\n\n`);
    }
    sseClients.add(reply.raw);
    reply.raw.on('close', () => sseClients.delete(reply.raw));
  });
});

setInterval(() => {
  for (const raw of sseClients) raw.write(': heartbeat\n\n');
}, HEARTBEAT_MS).unref();

await app.listen({ host: flags.host, port: Number(flags['http-port']) });
console.log(`PEER_READY ${JSON.stringify({ httpPort: app.server.address().port })}`);
process.on('SIGTERM', () => process.exit(0));
