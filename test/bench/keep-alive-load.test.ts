// The lean load generator against a real node:http server: Content-Length and chunked answers,
// a server that closes after each answer, and statuses that are not the expected one.
import assert from 'node:assert/strict';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { encodeRequest, runKeepAliveLoad } from '../../bench/lib/keep-alive-load.js';

async function serve(t: { after: (fn: () => void) => void }, handler: RequestListener): Promise<number> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  return (server.address() as AddressInfo).port;
}

test('counts answers with Content-Length and chunked bodies, and sends the cookie given', async (t) => {
  const cookies = new Set<string>();
  const port = await serve(t, (req, res) => {
    cookies.add(String(req.headers.cookie));
    if (req.url === '/chunked') {
      res.write('{"messages":');
      res.end('[]}');
    } else res.end('{"messages":[]}');
  });
  for (const path of ['/fixed', '/chunked']) {
    const result = await runKeepAliveLoad({
      port,
      requests: [encodeRequest('GET', path, { Cookie: 'session=a' }), encodeRequest('GET', path, { Cookie: 'session=b' })],
      seconds: 0.3,
      expectStatus: 200,
    });
    assert.ok(result.correct > 10, `${path}: ${result.correct} answers`);
    assert.equal(result.failed, 0);
  }
  assert.deepEqual([...cookies].sort(), ['session=a', 'session=b']);
});

test('reconnects when the server closes after each answer, and counts other statuses as failed', async (t) => {
  let requests = 0;
  const port = await serve(t, (req, res) => {
    requests++;
    res.writeHead(requests % 2 === 0 ? 429 : 201, { connection: 'close' });
    res.end('{}');
  });
  const result = await runKeepAliveLoad({ port, requests: [encodeRequest('POST', '/api/messages', {}, '{"text":"hi"}')], seconds: 0.3, expectStatus: 201 });
  assert.ok(result.correct > 2);
  assert.ok(result.failed > 2);
  assert.deepEqual(Object.keys(result.statuses).sort(), ['201', '429']);
});
