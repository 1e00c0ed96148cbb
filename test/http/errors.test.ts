// Every error status of the API with real requests, the security headers on every answer, and
// broken or hostile HTTP that must get a 4xx while the server keeps serving everyone else.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ApiError, DEFAULT_RETRY_AFTER_SECONDS, INTERNAL_MESSAGE, unwrapOutcome } from '../../server/errors.js';
import { timeoutsOf } from '../../server/http/connection-rules.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { RawClient } from '../helpers/tcp-client.js';
import { assertError, login, postJson, rawRequest, responseOf, start, statusOf, type User } from './support.js';
import { until } from '../helpers/until.js';

let server: RunningServer;
let alice: User;
before(async () => {
  server = await startServer();
  alice = await login(server.baseUrl, 'alice');
});
after(() => server.stop());

const port = () => server.httpPort;

async function stillServes(): Promise<void> {
  const response = await fetch(`${server.baseUrl}/api/health`);
  assert.equal(response.status, 200, 'the server still answers');
}

test('405 names the allowed methods in Allow', async () => {
  const cases: Array<[string, string, string]> = [
    ['PUT', '/api/messages', 'GET, HEAD, POST'],
    ['PATCH', '/api/login', 'GET, HEAD, POST, DELETE'],
    ['GET', '/api/messages/1', 'DELETE'],
    ['POST', '/api/events', 'GET, HEAD'],
    ['POST', '/api/health', 'GET, HEAD'],
    ['POST', '/', 'GET, HEAD'],
    ['DELETE', '/assets/app.js', 'GET, HEAD'],
  ];
  for (const [method, path, allow] of cases) {
    const response = await alice.fetch(path, { method });
    assert.equal(response.headers.get('allow'), allow, `${method} ${path}`);
    await assertError(response, 405, 'METHOD_NOT_ALLOWED');
  }
});

test('an unknown /api path is 404 JSON whatever the method, never the web page', async () => {
  for (const method of ['GET', 'POST', 'DELETE']) {
    await assertError(await alice.fetch('/api/nothing-here', { method, headers: { accept: 'text/html' } }), 404, 'NOT_FOUND');
  }
  await assertError(await alice.fetch('/api', { headers: { accept: 'text/html' } }), 404, 'NOT_FOUND');
});

test('a 404 quotes at most 80 characters of a long path, for the API and for files alike', async () => {
  for (const prefix of ['/api/', '/files/']) {
    const path = `${prefix}${'x'.repeat(10_000)}`;
    const { error } = await assertError(await alice.fetch(path), 404, 'NOT_FOUND');
    assert.ok(error.includes(`${path.slice(0, 80)}…`), error.slice(0, 200));
    assert.ok(error.length < 200, `${error.length} characters`);
  }
});

test('a body without Content-Length or chunked encoding is 411', async () => {
  const { text } = await rawRequest(
    port(),
    `POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n`,
  );
  assert.equal(statusOf(text), 411);
  assert.match(text, /"code":"LENGTH_REQUIRED"/);
  await stillServes();
});

test('a body over 64 KiB is 413, by Content-Length or as it streams in chunks', async () => {
  const big = JSON.stringify({ text: 'x'.repeat(70 * 1024) });
  const body = await assertError(await postJson(alice, '/api/messages', JSON.parse(big)), 413, 'BODY_TOO_LARGE');
  assert.match(body.error, /^the body is 71,\d{3} bytes; the limit is 65,536 bytes/);

  const chunks = [Buffer.from('{"text":"'), Buffer.alloc(80 * 1024, 'y'), Buffer.from('"}')];
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = chunks.shift();
      if (next) controller.enqueue(next);
      else controller.close();
    },
  });
  const chunked = await alice.fetch('/api/messages', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: stream,
    duplex: 'half',
  } as RequestInit);
  const chunkedBody = await assertError(chunked, 413, 'BODY_TOO_LARGE');
  assert.match(chunkedBody.error, /^the body is more than 65,536 bytes/);
  // A body just under the limit is read whole: the original read 1,024 bytes and cut the rest.
  const text = 'é'.repeat(4000);
  const sent = await alice.send(text);
  assert.equal(sent.text, text);
  await stillServes();
});

test('a body that is not JSON is 415; bad JSON is 400 BAD_JSON; JSON that is not an object is 400', async () => {
  const post = (body: BodyInit, type?: string) =>
    alice.fetch('/api/messages', { method: 'POST', headers: type ? { 'content-type': type } : {}, body });
  await assertError(await post('text=hi', 'application/x-www-form-urlencoded'), 415, 'UNSUPPORTED_MEDIA_TYPE');
  await assertError(await post('{"text":"hi"}', 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE');
  await assertError(await post(new Blob(['{"text":"hi"}'])), 415, 'UNSUPPORTED_MEDIA_TYPE');
  await assertError(await post('{"text":', 'application/json'), 400, 'BAD_JSON');
  await assertError(await post('', 'application/json'), 400, 'BAD_JSON');
  await assertError(await post(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), 'application/json'), 400, 'BAD_JSON');
  await assertError(await post('[1,2]', 'application/json'), 400, 'BAD_REQUEST');
  await assertError(await post('"hi"', 'application/json'), 400, 'BAD_REQUEST');
  assert.equal((await post('{"text":"typed with charset"}', 'application/json; charset=utf-8')).status, 201);
});

test('a flood of sends is 429 with Retry-After', async (t) => {
  const limited = await start(t, { args: ['--rate-limit', '1'] });
  const bob = await login(limited.baseUrl, 'bob');
  let refused: Response | undefined;
  for (let i = 0; i < 20 && refused === undefined; i++) {
    const response = await postJson(bob, '/api/messages', { text: `flood ${i}` });
    if (response.status === 429) refused = response;
    else assert.equal(response.status, 201);
  }
  assert.ok(refused, 'the limit was reached');
  const retryAfter = Number(refused.headers.get('retry-after'));
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1, `Retry-After: ${refused.headers.get('retry-after')}`);
  await assertError(refused, 429, 'RATE_LIMITED');
});

test('a state-changing request from another site is 403 CROSS_ORIGIN', async () => {
  const evil = { origin: 'https://evil.example' };
  const csrf = await alice.fetch('/api/messages', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...evil },
    body: '{"text":"csrf"}',
  });
  await assertError(csrf, 403, 'CROSS_ORIGIN');
  await assertError(await alice.fetch('/api/messages/1', { method: 'DELETE', headers: evil }), 403, 'CROSS_ORIGIN');
  await assertError(await alice.fetch('/api/login', { method: 'DELETE', headers: evil }), 403, 'CROSS_ORIGIN');
  await assertError(await fetch(`${server.baseUrl}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: 'null' },
    body: '{"username":"mallory"}',
  }), 403, 'CROSS_ORIGIN');
  // The session survived: the refused logout did nothing.
  assert.equal((await alice.fetch('/api/login')).status, 200);
  // The server's own origin is fine.
  const own = await alice.fetch('/api/messages', {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: server.baseUrl },
    body: '{"text":"same origin"}',
  });
  assert.equal(own.status, 201);
});

test('an origin allowed with --allow-origin may call the API, with CORS headers and preflight', async (t) => {
  const allowed = await start(t, { args: ['--allow-origin', 'https://chat.example.com'] });
  const bob = await login(allowed.baseUrl, 'bob');
  const origin = 'https://chat.example.com';
  const preflight = await fetch(`${allowed.baseUrl}/api/messages`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get('access-control-allow-origin'), origin);
  assert.equal(preflight.headers.get('access-control-allow-credentials'), 'true');
  assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /POST/);
  const sent = await bob.fetch('/api/messages', {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin },
    body: '{"text":"from the allowed site"}',
  });
  assert.equal(sent.status, 201);
  assert.equal(sent.headers.get('access-control-allow-origin'), origin);
  await assertError(await bob.fetch('/api/messages', {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: 'https://other.example.com' },
    body: '{"text":"x"}',
  }), 403, 'CROSS_ORIGIN');
});

test('every answer carries the security headers', async () => {
  const answers = [
    await alice.fetch('/api/messages'),
    await alice.fetch('/api/nothing'),
    await fetch(`${server.baseUrl}/api/messages`),
    await fetch(`${server.baseUrl}/`),
    await fetch(`${server.baseUrl}/api/health`),
    await postJson(alice, '/api/messages', { text: 'headers' }),
  ];
  const sent = (await answers[5]!.clone().json()) as { id: number };
  answers.push(await alice.fetch(`/api/messages/${sent.id}`, { method: 'DELETE' }));
  for (const response of answers) {
    const what = `${response.status} ${response.url}`;
    const csp = response.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src '(self|none)'/, what);
    assert.match(csp, /frame-ancestors 'none'/, what);
    assert.match(csp, /base-uri 'none'/, what);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, what);
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff', what);
    assert.equal(response.headers.get('referrer-policy'), 'no-referrer', what);
    assert.equal(response.headers.get('x-frame-options'), 'DENY', what);
    await response.arrayBuffer();
  }
  const page = await fetch(`${server.baseUrl}/`);
  const csp = page.headers.get('content-security-policy')!;
  for (const directive of ["default-src 'self'", "script-src 'self'", "connect-src 'self'", "form-action 'self'", "object-src 'none'"]) {
    assert.ok(csp.includes(directive), `${directive} in ${csp}`);
  }
  await page.arrayBuffer();
});

test('garbage bytes get 400 and a closed connection; the server keeps serving', async () => {
  const garbage = [
    '\x00\x01\x02garbage\r\n\r\n',
    'HELLO\r\n\r\n',
    'GET / HTTP/9.9\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n',
    // Request smuggling attempts: both lengths, or an invalid chunk size.
    'POST /api/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    'POST /api/messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nzz\r\n',
    Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 7919) % 256)),
  ];
  for (const bytes of garbage) {
    const { text, closed } = await rawRequest(port(), bytes);
    assert.equal(statusOf(text), 400, JSON.stringify(bytes.toString().slice(0, 40)));
    assert.ok(closed, 'the connection is closed after a framing error');
    assert.match(text, /"code":"BAD_REQUEST"/);
  }
  await stillServes();
});

test('oversized headers get 431', async () => {
  const { text } = await rawRequest(port(), `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
  assert.equal(statusOf(text), 431);
  await stillServes();
});

test('a client that never finishes its headers is answered 408 and dropped, however slowly it keeps sending (slowloris)', { timeout: 30_000 }, async (t) => {
  const own = await start(t, { args: ['--memory', '--request-timeout', '2'] });
  const socket = connect({ port: own.httpPort, host: '127.0.0.1' });
  socket.on('error', () => {});
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const closed = new Promise((resolve) => socket.once('close', resolve));
  await new Promise((resolve) => socket.once('connect', resolve));
  const started = Date.now();
  socket.write('GET /api/health HTTP/1.1\r\nHost: x\r\n');
  // A header line now and then: the deadline is for all the headers, not for each silence.
  let line = 0;
  const trickle = setInterval(() => socket.write(`X-Slow-${line++}: y\r\n`), 250);
  t.after(() => clearInterval(trickle));
  await closed;
  clearInterval(trickle);
  const text = Buffer.concat(chunks).toString('latin1');
  assert.equal(statusOf(text), 408);
  assert.match(text, /headers within 2 s/);
  assert.ok(Date.now() - started < 8_000, 'the default 10 s header deadline did not apply');
  assert.equal((await fetch(`${own.baseUrl}/api/health`)).status, 200);
});

test('the header deadline is 10 s, or --request-timeout when that is shorter', () => {
  assert.equal(timeoutsOf({ requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000 }).headersMs, 10_000);
  assert.equal(timeoutsOf({ requestTimeoutMs: 2_000, keepAliveTimeoutMs: 5_000 }).headersMs, 2_000);
});

test('keep-alive and pipelined requests on one connection are all answered in order', async () => {
  const request = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\nCookie: ${alice.cookie}\r\n\r\n`;
  const { text } = await rawRequest(
    port(),
    request('/api/login') + request('/api/health') + `GET /api/nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
  );
  const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
  assert.deepEqual(statuses, [200, 200, 404]);
});

test('a Content-Length over 64 KiB is answered 413 at once, before any body arrives, and the connection closes', async () => {
  const socket = connect({ port: port(), host: '127.0.0.1' });
  socket.on('error', () => {});
  const chunks: Buffer[] = [];
  socket.on('data', (chunk) => chunks.push(chunk));
  const closed = new Promise((resolve) => socket.once('close', resolve));
  socket.write(`POST /api/messages HTTP/1.1\r\nHost: x\r\nCookie: ${alice.cookie}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n`);
  await until(async () => Buffer.concat(chunks).includes('"code":"BODY_TOO_LARGE"'), 'the 413, with no body sent', 5_000);
  const answer = responseOf(Buffer.concat(chunks).toString('latin1'));
  assert.equal(answer.status, 413);
  assert.equal(answer.headers.get('connection'), 'close');
  assert.match(((await answer.json()) as { error: string }).error, /100,000 bytes; the limit is 65,536 bytes/);
  await closed; // the server stops waiting for the body it will not read
  await stillServes();
});

test('HEAD works wherever GET does: the answer’s headers without its body', async () => {
  for (const path of ['/api/messages', '/api/messages?limit=1', '/api/login', '/api/events', '/api/health']) {
    const get = await alice.fetch(path, { method: 'GET' });
    const head = await alice.fetch(path, { method: 'HEAD' });
    assert.equal(head.status, get.status, path);
    assert.equal(head.headers.get('content-type'), get.headers.get('content-type'), path);
    assert.equal(await head.text(), '', path);
    if (path === '/api/events') await get.body!.cancel();
    else assert.equal(head.headers.get('content-length'), String(Buffer.byteLength(await get.text())), path);
  }
  const anonymous = await fetch(`${server.baseUrl}/api/messages`, { method: 'HEAD' });
  assert.equal(anonymous.status, 401);
});

test('a request whose body stops coming is answered 408 after --request-timeout and closed', { timeout: 30_000 }, async (t) => {
  const own = await start(t, { args: ['--memory', '--request-timeout', '1'] });
  const bob = await login(own.baseUrl, 'bob');
  const started = Date.now();
  const { text, closed } = await rawRequest(
    own.httpPort,
    `POST /api/messages HTTP/1.1\r\nHost: x\r\nCookie: ${bob.cookie}\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n{"text":`,
    10_000,
  );
  assert.ok(closed, 'the server closed the connection');
  assert.equal(statusOf(text), 408);
  assert.match(text, /"code":"IDLE_TIMEOUT"/);
  assert.match(text, /the whole request within 1 s/);
  assert.ok(Date.now() - started < 8_000, 'the default 30 s did not apply');
  assert.equal((await fetch(`${own.baseUrl}/api/health`)).status, 200);
});

test('an idle keep-alive connection is closed after --keep-alive-timeout', { timeout: 30_000 }, async (t) => {
  const own = await start(t, { args: ['--memory', '--keep-alive-timeout', '1'] });
  const socket = connect({ port: own.httpPort, host: '127.0.0.1' });
  socket.on('error', () => {});
  const answered = new Promise((resolve) => socket.once('data', resolve));
  const closed = new Promise((resolve) => socket.once('close', resolve));
  socket.write('GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n');
  await answered;
  const idleSince = Date.now();
  await closed;
  const idle = Date.now() - idleSince;
  assert.ok(idle >= 900 && idle < 4_000, `closed after ${idle} ms idle (the default is 5 s)`);
});

test('an unexpected failure is a 500 that reveals nothing; its stack goes to chat.log', { timeout: 30_000 }, async (t) => {
  // The outside world refuses a write: the sessions file sits at the process's file size
  // limit (RLIMIT_FSIZE, as a full disk or a quota would), so storing a new session fails.
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-test-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const limit = 256 * 1024;
  writeFileSync(join(dataDir, 'sessions.jsonl'), '\n'.repeat(limit));
  const own = await start(t, { dataDir });
  execFileSync('prlimit', ['--pid', String(own.pid), `--fsize=${limit}:${limit}`]);
  const answer = await fetch(`${own.baseUrl}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":"ivan"}' });
  const text = await answer.clone().text();
  assert.deepEqual(await assertError(answer, 500, 'INTERNAL'), { error: INTERNAL_MESSAGE, code: 'INTERNAL' });
  assert.doesNotMatch(text, /EFBIG|sessions|\/tmp|    at /);
  assert.equal(answer.headers.get('set-cookie'), null);
  let logged: { error?: { stack?: string } } | undefined;
  await until(async () => {
    const lines = readFileSync(own.logFile, 'utf8').split('\n').filter((line) => line.includes('"http-request-failed"'));
    logged = lines.length > 0 ? JSON.parse(lines[0]!) : undefined;
    return logged !== undefined;
  }, 'the failure in chat.log');
  assert.match(logged!.error?.stack ?? '', /EFBIG[\s\S]*\n {4}at /);
  assert.equal((await fetch(`${own.baseUrl}/api/health`)).status, 200);
});

test('every 503 carries Retry-After, also one rebuilt from a worker’s outcome', () => {
  assert.throws(
    () => unwrapOutcome({ ok: false, code: 'UNAVAILABLE', message: 'the server could not store that; please try again' }),
    (error: unknown) => error instanceof ApiError && error.status === 503 && error.details.retryAfter === DEFAULT_RETRY_AFTER_SECONDS,
  );
  for (const code of ['TOO_MANY_CONNECTIONS', 'SHUTTING_DOWN', 'UNAVAILABLE'] as const) {
    assert.equal(new ApiError(code, 'a sentence').details.retryAfter, DEFAULT_RETRY_AFTER_SECONDS, code);
  }
  assert.equal(new ApiError('UNAVAILABLE', 'a sentence', { retryAfter: 2 }).details.retryAfter, 2, 'a given figure wins');
  assert.equal(new ApiError('NOT_FOUND', 'a sentence').details.retryAfter, undefined, 'only 503s get one');
});

test('the send budget is one per user across HTTP and TCP: spent over TCP, an HTTP send is 429', async (t) => {
  const own = await start(t, { args: ['--memory', '--rate-limit', '1'] });
  const client = await RawClient.connect(own.tcpPort);
  await client.login('judy');
  let refused: Record<string, unknown> | undefined;
  for (let i = 0; i < 20 && refused === undefined; i++) {
    const reply = await client.request('send', { text: `tcp ${i}` });
    if (!reply.ok) refused = reply;
  }
  assert.equal((refused?.error as { code?: string } | undefined)?.code, 'RATE_LIMITED', 'the TCP budget ran out');
  const judy = await login(own.baseUrl, 'judy');
  const answer = await postJson(judy, '/api/messages', { text: 'over http' });
  assert.ok(Number(answer.headers.get('retry-after')) >= 1);
  await assertError(answer, 429, 'RATE_LIMITED');
  // Another user's budget is untouched.
  assert.equal((await postJson(await login(own.baseUrl, 'kim'), '/api/messages', { text: 'hi' })).status, 201);
  client.close();
});

test('the separate metrics port answers broken requests like the chat port: 400 JSON and closed', async (t) => {
  const own = await start(t, { args: ['--memory', '--metrics-port', '0'] });
  assert.notEqual(own.metricsPort, own.httpPort);
  const { text, closed } = await rawRequest(own.metricsPort, 'HELLO\r\n\r\n');
  assert.ok(closed);
  assert.equal(statusOf(text), 400);
  assert.match(text, /"code":"BAD_REQUEST"/);
  assert.equal((await fetch(`http://127.0.0.1:${own.metricsPort}/metrics`)).status, 200);
});
