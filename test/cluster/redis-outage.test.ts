// Redis killed under two live Parley nodes and started again (same port, same folder, AOF with
// appendfsync always): clear refusals meanwhile, reads and live streams go on, no acknowledged
// message is lost, and the nodes recover without a restart.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startRedis } from '../helpers/redis.js';
import { startServer } from '../helpers/server.js';
import { RawClient } from '../helpers/tcp-client.js';
import { WebClient } from './support.js';
import { until } from '../helpers/until.js';

const clusterArgs = (url: string) => ['--cluster', url, '--workers', '0'];
/** A refused writer waits a little before the next try, as a real client would (longer). */
const pause = () => new Promise((resolve) => setTimeout(resolve, 10));

/** Every message a node holds, page by page. */
async function allMessages(client: WebClient): Promise<{ messages: Array<{ id: number }>; last: number }> {
  const messages: Array<{ id: number }> = [];
  let last = 0;
  for (;;) {
    const page = await client.json('GET', `/api/messages?last=${last}&limit=1000`);
    assert.equal(page.status, 200);
    messages.push(...page.body.messages);
    if (page.body.last === last) return { messages, last };
    last = page.body.last;
  }
}

test('Redis stopped mid-traffic: clear 503s and error frames, reads go on, nothing acknowledged is lost', async (t) => {
  const redis = await startRedis({ appendfsync: 'always' });
  t.after(() => redis.stop());
  const [a, b] = await Promise.all([startServer({ args: clusterArgs(redis.url) }), startServer({ args: clusterArgs(redis.url) })]);
  t.after(() => Promise.all([a.stop(), b.stop()]));

  const web = await WebClient.login(a.baseUrl, 'webby');
  const feed = await web.events(t);
  const terminal = await RawClient.connect(b.tcpPort);
  t.after(() => terminal.close());
  await terminal.login('terminal');

  // Traffic through both nodes; Redis dies in the middle of it.
  const acknowledged: number[] = [];
  const acknowledgedBy = { a: [] as number[], b: [] as number[] };
  const refusals: Array<{ status: number; code: string; error: string; retryAfter: string | null }> = [];
  let writing = true;
  let n = 0;
  const webWriter = (async () => {
    while (writing) {
      const i = n++;
      const reply = await web.json('POST', '/api/messages', { text: `web ${i}`, clientId: `web-${i}` });
      if (reply.status === 201) {
        acknowledged.push(reply.body.id);
        acknowledgedBy.a.push(reply.body.id);
      }
      else {
        refusals.push({ status: reply.status, ...reply.body, retryAfter: reply.headers.get('retry-after') });
        await pause();
      }
    }
  })();
  const tcpWriter = (async () => {
    while (writing) {
      const i = n++;
      const reply = await terminal.request('send', { text: `tcp ${i}`, clientId: `tcp-${i}` });
      if (reply.ok) {
        acknowledged.push(reply.message.id);
        acknowledgedBy.b.push(reply.message.id);
      }
      else {
        refusals.push({ status: 0, code: reply.error.code, error: reply.error.message, retryAfter: String(reply.error.retryAfter) });
        await pause();
      }
    }
  })();
  await until(() => acknowledged.length >= 30, 'writes flow', 15_000);
  await redis.kill();
  await until(() => refusals.length >= 10, 'writes are refused', 15_000);

  const started = performance.now();
  const refused = await web.json('POST', '/api/messages', { text: 'while Redis is down' });
  assert.ok(performance.now() - started < 1000, 'a 503 at once, not after a timeout');
  assert.equal(refused.status, 503);
  assert.equal(refused.body.code, 'UNAVAILABLE');
  assert.match(refused.body.error, /chat store \(Redis\) is unreachable/);
  assert.ok(Number(refused.headers.get('retry-after')) > 0);
  const frame = await terminal.request('send', { text: 'while Redis is down' });
  assert.equal(frame.error.code, 'UNAVAILABLE');
  assert.ok(frame.error.retryAfter > 0);
  for (const refusal of refusals) {
    assert.equal(refusal.code, 'UNAVAILABLE', JSON.stringify(refusal));
    assert.match(refusal.error, /Redis/);
  }

  // Reads of what each node holds keep working, for sessions the node already knew. A node
  // holds at least every write it acknowledged (it may not have copied the other's last ones).
  const read = await web.json('GET', '/api/messages?limit=1000');
  assert.equal(read.status, 200);
  const readIds = new Set(read.body.messages.map((m: { id: number }) => m.id));
  assert.deepEqual(acknowledgedBy.a.filter((id) => !readIds.has(id)), []);
  const history = await terminal.request('history', { limit: 1000 });
  assert.equal(history.ok, true);
  const historyIds = new Set(history.messages.map((m: { id: number }) => m.id));
  assert.deepEqual(acknowledgedBy.b.filter((id) => !historyIds.has(id)), []);
  assert.equal((await web.json('GET', '/api/health')).status, 503);

  await redis.restart();
  await until(async () => (await web.json('GET', '/api/health')).status === 200, 'node A takes writes again', 15_000);
  await until(async () => (await web.on(b.baseUrl).json('GET', '/api/health')).status === 200, 'node B takes writes again', 15_000);
  writing = false;
  await Promise.all([webWriter, tcpWriter]);

  // The SSE stream opened before the outage carries on: a message sent on B after it arrives on A.
  const back = await terminal.request('send', { text: 'after the outage' });
  assert.equal(back.ok, true);
  await feed.next((e) => e.event === 'message' && e.data.id === back.message.id);

  // Every acknowledged message is in Redis (a node started now replays only what Redis has).
  const late = await startServer({ args: clusterArgs(redis.url) });
  t.after(() => late.stop());
  const stored = await allMessages(web.on(late.baseUrl));
  const ids = new Set(stored.messages.map((m) => m.id));
  assert.deepEqual(acknowledged.filter((id) => !ids.has(id)), [], 'no acknowledged message lost');
  assert.deepEqual(await allMessages(web), stored, 'node A holds exactly what Redis holds');
});

test('Redis hung mid-request: a 503 within the 5 s budget over HTTP and TCP, and the refused messages never appear', async (t) => {
  const redis = await startRedis({ appendfsync: 'always' });
  t.after(() => redis.stop());
  const [a, b] = await Promise.all([startServer({ args: clusterArgs(redis.url) }), startServer({ args: clusterArgs(redis.url) })]);
  t.after(() => Promise.all([a.stop(), b.stop()]));
  const web = await WebClient.login(a.baseUrl, 'webby');
  const terminal = await RawClient.connect(b.tcpPort);
  t.after(() => terminal.close());
  await terminal.login('terminal');
  assert.equal((await web.json('POST', '/api/messages', { text: 'before the hang' })).status, 201);

  redis.freeze();
  const timed = async <T>(work: Promise<T>) => {
    const started = performance.now();
    const result = await work;
    return { result, ms: performance.now() - started };
  };
  // The web request checks its session in Redis first, then writes; the TCP connection is
  // logged in, so its script reaches Redis and waits there, unread.
  const [posted, framed] = await Promise.all([
    timed(web.json('POST', '/api/messages', { text: 'web in the hang' })),
    timed(terminal.request('send', { text: 'tcp in the hang' })),
  ]);
  redis.thaw();
  assert.deepEqual([posted.result.status, posted.result.body.code], [503, 'UNAVAILABLE']);
  assert.match(posted.result.body.error, /did not answer in time/);
  assert.equal(framed.result.error.code, 'UNAVAILABLE');
  for (const { ms } of [posted, framed]) assert.ok(ms < 6500, `answered after ${Math.round(ms)} ms, not after two 5 s waits`);

  await until(async () => (await web.json('GET', '/api/health')).status === 200, 'node A takes writes again', 15_000);
  await until(async () => (await web.on(b.baseUrl).json('GET', '/api/health')).status === 200, 'node B takes writes again', 15_000);
  const after = await terminal.request('send', { text: 'after the hang' });
  assert.equal(after.ok, true);
  for (const node of [a, b]) {
    await until(async () => (await allMessages(web.on(node.baseUrl))).last >= after.message.id, 'the node has the newest message', 15_000);
    const { messages } = await allMessages(web.on(node.baseUrl));
    assert.deepEqual(messages.map((m) => (m as { text?: string }).text), ['before the hang', 'after the hang']);
  }
});
