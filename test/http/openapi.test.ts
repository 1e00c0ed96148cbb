// Real answers against docs/openapi.yaml (issue 3: "responses match docs/openapi.yaml"): every
// endpoint, its success and error answers, headers and JSON bodies, and SSE event data.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer, type RunningServer } from '../helpers/server.js';
import { OpenApi } from './openapi-check.js';
import { RawClient } from '../helpers/tcp-client.js';
import { login, postJson, rawRequest, responseOf, SseReader, start, type User } from './support.js';

const spec = new OpenApi();
let server: RunningServer;
let alice: User;
let bob: User;
before(async () => {
  server = await startServer();
  alice = await login(server.baseUrl, 'alice');
  bob = await login(server.baseUrl, 'bob');
});
after(() => server.stop());

async function conforms(method: string, template: string, response: Response | Promise<Response>, status?: number): Promise<void> {
  const answer = await response;
  if (status !== undefined) assert.equal(answer.status, status, `${method} ${template}`);
  assert.deepEqual(await spec.check(method, template, answer), []);
}

test('the document lists exactly the paths the server has', () => {
  assert.deepEqual(
    spec.paths.sort(),
    ['/', '/api/events', '/api/health', '/api/login', '/api/messages', '/api/messages/{id}', '/assets/{file}', '/favicon.svg', '/metrics', '/{page}'].sort(),
  );
  assert.equal(spec.document.openapi, '3.1.0');
});

test('login, who-am-I and logout answers match the document', async () => {
  const anonymous = (path: string, init?: RequestInit) => fetch(`${server.baseUrl}${path}`, init);
  const json = { 'content-type': 'application/json' };
  await conforms('POST', '/api/login', anonymous('/api/login', { method: 'POST', headers: json, body: '{"username":"carol"}' }), 200);
  await conforms('POST', '/api/login', anonymous('/api/login', { method: 'POST', headers: json, body: '{"username":""}' }), 400);
  await conforms('POST', '/api/login', anonymous('/api/login', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'carol' }), 415);
  await conforms('POST', '/api/login', anonymous('/api/login', { method: 'POST', headers: json, body: JSON.stringify({ username: 'x'.repeat(70_000) }) }), 413);
  await conforms('POST', '/api/login', anonymous('/api/login', { method: 'POST', headers: { ...json, origin: 'https://evil.example' }, body: '{"username":"carol"}' }), 403);
  await conforms('GET', '/api/login', alice.fetch('/api/login'), 200);
  await conforms('GET', '/api/login', anonymous('/api/login'), 401);
  const carol = await login(server.baseUrl, 'carol');
  await conforms('DELETE', '/api/login', carol.fetch('/api/login', { method: 'DELETE' }), 204);
  await conforms('DELETE', '/api/login', carol.fetch('/api/login', { method: 'DELETE', headers: { origin: 'https://evil.example' } }), 403);
});

test('message answers match the document', async () => {
  await conforms('POST', '/api/messages', postJson(alice, '/api/messages', { text: 'spec', clientId: 'spec-1' }), 201);
  await conforms('POST', '/api/messages', postJson(alice, '/api/messages', { text: 'spec', clientId: 'spec-1' }), 200);
  await conforms('POST', '/api/messages', postJson(alice, '/api/messages', { text: '' }), 400);
  await conforms('POST', '/api/messages', fetch(`${server.baseUrl}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"x"}' }), 401);
  await conforms('POST', '/api/messages', alice.fetch('/api/messages', { method: 'POST', headers: { 'content-type': 'application/json', origin: 'https://evil.example' }, body: '{"text":"x"}' }), 403);
  await conforms('POST', '/api/messages', alice.fetch('/api/messages', { method: 'POST', body: 'x' }), 415);

  const sent = await alice.send('to read and delete');
  await conforms('GET', '/api/messages', alice.fetch('/api/messages'), 200);
  await conforms('GET', '/api/messages', alice.fetch(`/api/messages?before=${sent.id}&limit=5`), 200);
  await conforms('GET', '/api/messages', alice.fetch(`/api/messages?last=${sent.id - 1}`), 200);
  await conforms('GET', '/api/messages', alice.fetch(`/api/messages?last=${sent.id}&wait=0.1`), 200);
  await conforms('GET', '/api/messages', alice.fetch('/api/messages?limit=0'), 400);
  await conforms('GET', '/api/messages', fetch(`${server.baseUrl}/api/messages`), 401);

  await conforms('DELETE', '/api/messages/{id}', bob.fetch(`/api/messages/${sent.id}`, { method: 'DELETE' }), 403);
  await conforms('DELETE', '/api/messages/{id}', alice.fetch(`/api/messages/${sent.id}`, { method: 'DELETE' }), 204);
  await conforms('DELETE', '/api/messages/{id}', alice.fetch(`/api/messages/${sent.id}`, { method: 'DELETE' }), 404);
  await conforms('DELETE', '/api/messages/{id}', alice.fetch('/api/messages/abc', { method: 'DELETE' }), 400);
  await conforms('DELETE', '/api/messages/{id}', fetch(`${server.baseUrl}/api/messages/1`, { method: 'DELETE' }), 401);
  const withDeletion = await alice.fetch(`/api/messages?last=${sent.id}`);
  const body = (await withDeletion.clone().json()) as { deleted: number[] };
  assert.deepEqual(body.deleted, [sent.id]);
  await conforms('GET', '/api/messages', withDeletion, 200);
});

test('a rate-limited send matches the document, Retry-After included', async (t) => {
  const limited = await start(t, { args: ['--rate-limit', '1'] });
  const dave = await login(limited.baseUrl, 'dave');
  let refused: Response | undefined;
  for (let i = 0; i < 20 && !refused; i++) {
    const response = await postJson(dave, '/api/messages', { text: `${i}` });
    if (response.status === 429) refused = response;
    else await response.arrayBuffer();
  }
  assert.ok(refused);
  await conforms('POST', '/api/messages', refused, 429);
});

test('SSE, health, metrics and the web client match the document', async () => {
  const stream = await SseReader.open(bob);
  assert.match(stream.response.headers.get('content-type')!, /^text\/event-stream/);
  const sent = await alice.send('event data');
  await alice.fetch(`/api/messages/${sent.id}`, { method: 'DELETE' });
  const message = await stream.next((e) => e.event === 'message');
  assert.deepEqual(spec.validate(JSON.parse(message.data), { $ref: '#/components/schemas/Message' }, 'message event'), []);
  const deletion = await stream.next((e) => e.event === 'delete');
  assert.deepEqual(spec.validate(JSON.parse(deletion.data), { $ref: '#/components/schemas/DeleteEvent' }, 'delete event'), []);
  stream.close();
  await conforms('GET', '/api/events', fetch(`${server.baseUrl}/api/events`), 401);
  await conforms('GET', '/api/events', bob.fetch('/api/events?last=x'), 400);

  await conforms('GET', '/api/health', fetch(`${server.baseUrl}/api/health`), 200);
  await conforms('GET', '/metrics', fetch(`${server.baseUrl}/metrics`), 200);
  const page = await fetch(`${server.baseUrl}/`);
  const etag = page.headers.get('etag')!;
  const html = await page.text();
  const script = /src="(\/assets\/[^"]+)"/.exec(html)![1]!;
  await conforms('GET', '/', fetch(`${server.baseUrl}/`), 200);
  await conforms('GET', '/', fetch(`${server.baseUrl}/`, { headers: { 'if-none-match': etag } }), 304);
  await conforms('GET', '/assets/{file}', fetch(`${server.baseUrl}${script}`), 200);
  await conforms('GET', '/assets/{file}', fetch(`${server.baseUrl}/assets/missing-ABC.js`), 404);
  await conforms('GET', '/favicon.svg', fetch(`${server.baseUrl}/favicon.svg`), 200);
  await conforms('GET', '/{page}', fetch(`${server.baseUrl}/some/page`, { headers: { accept: 'text/html' } }), 200);
  await conforms('GET', '/{page}', fetch(`${server.baseUrl}/some/page.js`), 404);
});

test('HEAD answers match the document wherever GET is', async () => {
  await conforms('HEAD', '/api/login', alice.fetch('/api/login', { method: 'HEAD' }), 200);
  await conforms('HEAD', '/api/login', fetch(`${server.baseUrl}/api/login`, { method: 'HEAD' }), 401);
  await conforms('HEAD', '/api/messages', alice.fetch('/api/messages?limit=3', { method: 'HEAD' }), 200);
  await conforms('HEAD', '/api/messages', alice.fetch('/api/messages?limit=0', { method: 'HEAD' }), 400);
  await conforms('HEAD', '/api/events', bob.fetch('/api/events', { method: 'HEAD' }), 200);
  await conforms('HEAD', '/api/health', fetch(`${server.baseUrl}/api/health`, { method: 'HEAD' }), 200);
  await conforms('HEAD', '/metrics', fetch(`${server.baseUrl}/metrics`, { method: 'HEAD' }), 200);
  await conforms('HEAD', '/', fetch(`${server.baseUrl}/`, { method: 'HEAD' }), 200);
  await conforms('HEAD', '/favicon.svg', fetch(`${server.baseUrl}/favicon.svg`, { method: 'HEAD' }), 200);
});

test('a method a path does not list is the documented 405, with Allow naming exactly the listed ones', async () => {
  const cases: Array<[string, string, string]> = [
    ['PUT', '/api/messages', '/api/messages'],
    ['PATCH', '/api/login', '/api/login'],
    ['GET', '/api/messages/1', '/api/messages/{id}'],
    ['POST', '/api/events', '/api/events'],
    ['DELETE', '/api/health', '/api/health'],
    ['POST', '/metrics', '/metrics'],
    ['POST', '/', '/'],
    ['PUT', '/favicon.svg', '/favicon.svg'],
  ];
  for (const [method, path, template] of cases) await conforms(method, template, alice.fetch(path, { method }), 405);
  // OPTIONS is listed on /api paths: a preflight from an allowed origin, else 405.
  await conforms('OPTIONS', '/api/messages', alice.fetch('/api/messages', { method: 'OPTIONS' }), 405);
});

test('a CORS preflight is the documented 204 from an allowed origin and 403 from another', async (t) => {
  const allowed = await start(t, { args: ['--memory', '--allow-origin', 'https://chat.example.com'] });
  const preflight = (path: string, origin: string) =>
    fetch(`${allowed.baseUrl}${path}`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
  const paths: Array<[string, string]> = [
    ['/api/messages', '/api/messages'],
    ['/api/messages/7', '/api/messages/{id}'],
    ['/api/login', '/api/login'],
    ['/api/events', '/api/events'],
    ['/api/health', '/api/health'],
  ];
  for (const [path, template] of paths) {
    await conforms('OPTIONS', template, preflight(path, 'https://chat.example.com'), 204);
    await conforms('OPTIONS', template, preflight(path, 'https://evil.example'), 403);
  }
});

test('a body without a length is the documented 411', async () => {
  const { text } = await rawRequest(server.httpPort, 'POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n');
  await conforms('POST', '/api/login', responseOf(text), 411);
  const sent = await rawRequest(server.httpPort, `POST /api/messages HTTP/1.1\r\nHost: x\r\nCookie: ${alice.cookie}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n`);
  await conforms('POST', '/api/messages', responseOf(sent.text), 411);
});

test('broken requests answered before routing (400, 431, 408) match the document', { timeout: 30_000 }, async (t) => {
  const garbage = await rawRequest(server.httpPort, 'GET / HTTP/9.9\r\n\r\n');
  await conforms('GET', '/', responseOf(garbage.text), 400);
  const huge = await rawRequest(server.httpPort, `GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
  await conforms('GET', '/api/health', responseOf(huge.text), 431);
  const own = await start(t, { args: ['--memory', '--request-timeout', '1'] });
  const slow = await rawRequest(own.httpPort, 'POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 30\r\n\r\n{"user', 10_000);
  await conforms('POST', '/api/login', responseOf(slow.text), 408);
});

test('a stream or long-poll over --max-clients is the documented 503, Retry-After included', async (t) => {
  const full = await start(t, { args: ['--memory', '--max-clients', '1'] });
  const erin = await login(full.baseUrl, 'erin');
  const stream = await SseReader.open(erin);
  await conforms('GET', '/api/events', erin.fetch('/api/events'), 503);
  const last = ((await (await erin.fetch('/api/messages?limit=1')).json()) as { last: number }).last;
  await conforms('GET', '/api/messages', erin.fetch(`/api/messages?last=${last}&wait=5`), 503);
  await conforms('HEAD', '/api/messages', erin.fetch(`/api/messages?last=${last}&wait=5`, { method: 'HEAD' }), 503);
  stream.close();
});

test('reset answers, and the reset and logout events, match the document', async (t) => {
  const own = await start(t, { args: ['--memory'] });
  const frank = await login(own.baseUrl, 'frank');
  await frank.send('one');
  const reset = await frank.fetch('/api/messages?last=999999');
  assert.equal(((await reset.clone().json()) as { reset?: boolean }).reset, true);
  await conforms('GET', '/api/messages', reset, 200);
  const stream = await SseReader.open(frank, '/api/events?last=999999');
  const event = await stream.next((e) => e.event === 'reset');
  assert.deepEqual(spec.validate(JSON.parse(event.data), { $ref: '#/components/schemas/ResetEvent' }, 'reset event'), []);
  const tcp = await RawClient.connect(own.tcpPort);
  assert.equal((await tcp.request('resume', { token: decodeURIComponent(frank.cookie.split('=')[1]!) })).ok, true);
  assert.equal((await tcp.request('logout')).ok, true);
  const logout = await stream.next((e) => e.event === 'logout');
  assert.deepEqual(spec.validate(JSON.parse(logout.data), { $ref: '#/components/schemas/LogoutEvent' }, 'logout event'), []);
  tcp.close();
});

test('every documented error code is one the server uses (protocol/error-codes.ts)', async () => {
  const { ERROR_CODES } = await import('../../protocol/error-codes.js');
  const error = spec.resolve({ $ref: '#/components/schemas/Error' });
  const documented = ((error.properties as Record<string, { enum: string[] }>).code!).enum;
  assert.deepEqual([...documented].sort(), [...ERROR_CODES].sort());
});
