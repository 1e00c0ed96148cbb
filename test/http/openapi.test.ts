// Real answers against docs/openapi.yaml (issue 3: "responses match docs/openapi.yaml"): every
// endpoint, its success and error answers, headers and JSON bodies, and SSE event data.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer, type RunningServer } from '../helpers/server.js';
import { OpenApi } from './openapi-check.js';
import { login, postJson, SseReader, start, type User } from './support.js';

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
  assert.deepEqual(spec.paths.sort(), ['/', '/api/events', '/api/health', '/api/login', '/api/messages', '/api/messages/{id}', '/assets/{file}', '/metrics'].sort());
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
});

test('every documented error code is one the server uses (protocol/error-codes.ts)', async () => {
  const { ERROR_CODES } = await import('../../protocol/error-codes.js');
  const error = spec.resolve({ $ref: '#/components/schemas/Error' });
  const documented = ((error.properties as Record<string, { enum: string[] }>).code!).enum;
  assert.deepEqual([...documented].sort(), [...ERROR_CODES].sort());
});
