// Clients that hang up while their session is still being checked. On a cluster node the check
// asks Redis, which may stall; a stream or long-poll whose client left meanwhile must not start,
// or it would hold one of --max-clients' slots for good.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { startRedis } from '../helpers/redis.js';
import { startServer } from '../helpers/server.js';
import { connectedClients, login } from './support.js';
import { until } from '../helpers/until.js';

/** Sends a GET and resolves once the bytes are on their way; nothing is read back. */
async function requestAndLeaveOpen(port: number, cookie: string, path: string): Promise<Socket> {
  const socket = connect({ port, host: '127.0.0.1' });
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  await new Promise((resolve) => socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nCookie: ${cookie}\r\n\r\n`, resolve));
  return socket;
}

/** The access lines chat.log holds for `path` so far. */
function accessLines(logFile: string, path: string): Array<{ status: number }> {
  return readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((line) => line.includes('"event":"http"'))
    .map((line) => JSON.parse(line) as { path: string; status: number })
    .filter((line) => line.path === path);
}

test('an SSE stream or long-poll whose client hung up while Redis stalled the session check never starts and frees its slot', async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const server = await startServer({ args: ['--cluster', redis.url, '--workers', '0'] });
  t.after(() => server.kill());
  const alice = await login(server.baseUrl, 'alice');
  const { last } = (await (await alice.fetch('/api/messages')).json()) as { last: number };

  redis.freeze();
  t.after(() => redis.thaw());
  const stream = await requestAndLeaveOpen(server.httpPort, alice.cookie, '/api/events');
  const poll = await requestAndLeaveOpen(server.httpPort, alice.cookie, `/api/messages?last=${last}&wait=30`);
  await Promise.all([stream, poll].map((socket) => new Promise((resolve) => socket.once('close', resolve).destroy())));
  // A request on a new connection is answered only after the server has read what came before
  // it on loopback, the two hang-ups included; this path needs no Redis.
  assert.equal((await fetch(`${server.baseUrl}/api/no-such-thing`)).status, 404);
  redis.thaw();

  // Each request is recorded as closed by its client (nginx's 499) once its session check ends...
  const statuses = (path: string) => accessLines(server.logFile, path).map((line) => line.status);
  await until(async () => statuses('/api/events').length === 1 && statuses('/api/messages').length === 2, 'an access line for each request that was hung up on');
  assert.deepEqual(statuses('/api/events'), [499]);
  assert.deepEqual(statuses('/api/messages'), [200, 499]);
  // ...and neither holds a client slot.
  assert.equal(await connectedClients(server, 'sse'), 0);
  assert.equal(await connectedClients(server, 'longpoll'), 0);
  const log = readFileSync(server.logFile, 'utf8');
  assert.equal(log.includes('"sse-connect"'), false, 'no stream was started for a client that had left');
});
