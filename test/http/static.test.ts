// The built web client (dist/web): content types, caching (ETag, Last-Modified, 304, immutable
// hashed assets), pre-compressed copies by Accept-Encoding, HEAD, the single-page-app fallback,
// and no way out of the folder, however the path is spelled (sent as raw bytes).
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT, startServer, type RunningServer } from '../helpers/server.js';
import { rawRequest, statusOf } from './support.js';

const WEB = join(ROOT, 'dist/web');
let server: RunningServer;
let script: string;
before(async () => {
  server = await startServer();
  script = readdirSync(join(WEB, 'assets')).find((name) => name.endsWith('.js'))!;
  assert.ok(script, 'the web client is built');
});
after(() => server.stop());

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A request through node:http, which (unlike fetch) leaves compressed bodies as they are. */
function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.httpPort, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('/ serves index.html as HTML that must be revalidated', async () => {
  const page = await get('/');
  assert.equal(page.status, 200);
  assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(page.headers['cache-control'], 'no-cache');
  assert.match(String(page.headers.etag), /^"[^"]+"$/);
  assert.ok(!Number.isNaN(Date.parse(String(page.headers['last-modified']))));
  assert.deepEqual(page.body, readFileSync(join(WEB, 'index.html')));
  assert.deepEqual((await get('/index.html')).body, page.body);
});

test('content-hashed assets are cached for a year as immutable, with the right type', async () => {
  const asset = await get(`/assets/${script}`);
  assert.equal(asset.status, 200);
  assert.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.match(String(asset.headers['content-type']), /^(text|application)\/javascript/);
  assert.deepEqual(asset.body, readFileSync(join(WEB, 'assets', script)));
  const icon = await get('/favicon.svg');
  assert.equal(icon.headers['content-type'], 'image/svg+xml');
  assert.equal(icon.headers['cache-control'], 'no-cache');
});

test('ETag and Last-Modified give 304 with no body', async () => {
  const first = await get(`/assets/${script}`);
  const etag = String(first.headers.etag);
  const notModified = await get(`/assets/${script}`, { 'if-none-match': etag });
  assert.equal(notModified.status, 304);
  assert.equal(notModified.body.length, 0);
  assert.equal(notModified.headers.etag, etag);
  assert.equal((await get(`/assets/${script}`, { 'if-none-match': `"other", W/${etag}` })).status, 304);
  assert.equal((await get(`/assets/${script}`, { 'if-none-match': '"stale"' })).status, 200);
  const since = String(first.headers['last-modified']);
  assert.equal((await get(`/assets/${script}`, { 'if-modified-since': since })).status, 304);
  assert.equal((await get(`/assets/${script}`, { 'if-modified-since': 'Thu, 01 Jan 1970 00:00:00 GMT' })).status, 200);
  // If-None-Match wins over If-Modified-Since.
  assert.equal((await get(`/assets/${script}`, { 'if-none-match': '"stale"', 'if-modified-since': since })).status, 200);
});

test('pre-compressed copies are chosen by Accept-Encoding, with Vary and their own ETag', async () => {
  const path = `/assets/${script}`;
  const file = join(WEB, 'assets', script);
  const br = await get(path, { 'accept-encoding': 'gzip, deflate, br' });
  assert.equal(br.headers['content-encoding'], 'br');
  assert.deepEqual(br.body, readFileSync(`${file}.br`));
  assert.equal(Number(br.headers['content-length']), br.body.length);
  assert.equal(br.headers.vary, 'Accept-Encoding');
  const gzip = await get(path, { 'accept-encoding': 'gzip' });
  assert.equal(gzip.headers['content-encoding'], 'gzip');
  assert.deepEqual(gzip.body, readFileSync(`${file}.gz`));
  const refusedBr = await get(path, { 'accept-encoding': 'br;q=0, gzip' });
  assert.equal(refusedBr.headers['content-encoding'], 'gzip');
  const plain = await get(path, { 'accept-encoding': 'identity' });
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.deepEqual(plain.body, readFileSync(file));
  assert.equal(plain.headers.vary, 'Accept-Encoding');
  const tags = new Set([br.headers.etag, gzip.headers.etag, plain.headers.etag]);
  assert.equal(tags.size, 3, 'each representation has its own ETag');
  assert.equal((await get(path, { 'accept-encoding': 'br', 'if-none-match': String(br.headers.etag) })).status, 304);
});

test('HEAD answers the headers of GET without the body', async () => {
  const head = await get(`/assets/${script}`, {}, 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  assert.equal(Number(head.headers['content-length']), readFileSync(join(WEB, 'assets', script)).length);
  assert.equal(head.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.equal((await get('/', {}, 'HEAD')).status, 200);
});

test('page addresses that ask for HTML get index.html (single-page app); other misses are 404', async () => {
  const page = await get('/rooms/general', { accept: 'text/html,application/xhtml+xml' });
  assert.equal(page.status, 200);
  assert.deepEqual(page.body, readFileSync(join(WEB, 'index.html')));
  const missing = await get('/rooms/general.png', { accept: 'image/png' });
  assert.equal(missing.status, 404);
  assert.equal(JSON.parse(missing.body.toString()).code, 'NOT_FOUND');
  const staleAsset = await get('/assets/app-OLDHASH.js', { accept: 'text/html' });
  assert.equal(staleAsset.status, 404, 'a missing hashed asset is never answered with HTML');
});

test('no spelling of a path reads outside the static folder (raw bytes, no normalisation)', async () => {
  const secrets = [readFileSync('/etc/hostname', 'utf8').trim() || hostname(), '"name": "parley"', 'root:x:0:0'];
  const attacks = [
    '/../../etc/hostname',
    '/../../../../../../etc/passwd',
    '/%2e%2e/%2e%2e/etc/hostname',
    '/%2E%2E/%2E%2E/%2E%2E/etc/passwd',
    '/%252e%252e/%252e%252e/etc/hostname',
    '/..%2f..%2f..%2fpackage.json',
    '/assets/..%2f..%2f..%2fpackage.json',
    '/assets/../../../package.json',
    '/..\\..\\..\\package.json',
    '/..%5c..%5c..%5cpackage.json',
    '/.%2e/.%2e/package.json',
    '/index.html%00.js',
    '/%00/../package.json',
    '//etc/passwd',
    '/./../package.json',
    '/%c0%ae%c0%ae/package.json',
    '/..;/package.json',
    'http://127.0.0.1/../../etc/passwd',
  ];
  const fetchRaw = (path: string, accept: string) =>
    rawRequest(server.httpPort, `GET ${path} HTTP/1.1\r\nHost: x\r\nAccept: ${accept}\r\nConnection: close\r\n\r\n`);
  for (const path of attacks) {
    const { text } = await fetchRaw(path, '*/*');
    const status = statusOf(text);
    assert.ok(status === 404 || status === 400, `${path} answered ${status}`);
    for (const secret of secrets) assert.ok(!text.includes(secret), `${path} leaked ${secret}`);
  }
  // Dot segments in any encoding are refused outright, not answered with the app's page.
  for (const path of attacks.filter((p) => /\.\.|%2e%2e|%252e/i.test(p) && !p.includes(';'))) {
    const { text } = await fetchRaw(path, 'text/html');
    assert.equal(statusOf(text), 404, path);
    assert.ok(!text.includes('<!doctype html>'), `${path} got the page instead of a 404`);
  }
  const page = await get('/');
  assert.equal(page.status, 200, 'the server still serves');
});
