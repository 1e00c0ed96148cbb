// GET /metrics in the Prometheus text format (every family the operations issue names, counters
// that move with real traffic), the separate and disabled metrics port, and GET /api/health
// (200, and 503 while a cluster node has lost its Redis).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startRedis } from '../helpers/redis.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { LineClient, pollUntil, type Frame } from './support.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Exposition {
  types: Map<string, string>;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/y;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const SUFFIXES: Record<string, string[]> = { histogram: ['_bucket', '_sum', '_count'], summary: ['_sum', '_count'] };

/** Parses the Prometheus text exposition format (0.0.4) strictly: any stray line fails. */
function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    const where = `line ${index + 1}: ${line}`;
    if (line === '') continue;
    if (line.startsWith('# HELP ')) {
      assert.match(line.split(' ')[2] ?? '', METRIC_NAME, where);
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const [, , name = '', type = ''] = line.split(' ');
      assert.match(name, METRIC_NAME, where);
      assert.ok(TYPES.has(type), where);
      assert.ok(!types.has(name), `a second TYPE for ${name}`);
      types.set(name, type);
      continue;
    }
    assert.ok(!line.startsWith('#'), where);
    const match = SAMPLE_LINE.exec(line);
    assert.ok(match, where);
    const [, name = '', labelText = '', rawValue = ''] = match;
    const labels: Record<string, string> = {};
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < labelText.length) {
      const label = LABEL.exec(labelText);
      assert.ok(label, where);
      labels[label[1]!] = label[2]!;
    }
    const value = rawValue === '+Inf' ? Infinity : rawValue === '-Inf' ? -Infinity : Number(rawValue);
    assert.ok(rawValue === 'NaN' || !Number.isNaN(value), where);
    const family = familyOf(name, types);
    assert.ok(family, `${name} has no TYPE line before it`);
    samples.push({ name, labels, value });
  }
  return { types, samples };
}

function familyOf(name: string, types: Map<string, string>): string | undefined {
  if (types.has(name)) return name;
  for (const [family, type] of types) {
    if ((SUFFIXES[type] ?? []).some((suffix) => name === family + suffix)) return family;
  }
  return undefined;
}

async function scrape(port: number): Promise<Exposition> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parseExposition(await response.text());
}

function value(exposition: Exposition, name: string, labels: Record<string, string> = {}): number {
  return exposition.samples
    .filter((sample) => sample.name === name && Object.entries(labels).every(([k, v]) => sample.labels[k] === v))
    .reduce((sum, sample) => sum + sample.value, 0);
}

async function start(t: { after(fn: () => Promise<unknown>): void }, ...args: string[]): Promise<RunningServer> {
  const server = await startServer({ args: ['--workers', '2', ...args] });
  t.after(() => server.stop());
  return server;
}

async function loggedIn(t: { after(fn: () => Promise<unknown>): void }, server: RunningServer, name: string) {
  const client = await LineClient.connect(server.tcpPort);
  t.after(() => client.close());
  await client.login(name);
  return client;
}

async function sendMessage(client: LineClient, text: string): Promise<Frame> {
  const reply = await client.request({ op: 'send', text });
  assert.equal(reply.ok, true, JSON.stringify(reply));
  return reply.message as Frame;
}

test('GET /metrics answers Prometheus text with every family operations needs', { timeout: 30_000 }, async (t) => {
  const server = await start(t);
  const client = await loggedIn(t, server, 'metered');
  await sendMessage(client, 'hello metrics');
  const health = await fetch(`${server.baseUrl}/api/health`);
  await health.arrayBuffer();

  const metrics = await scrape(server.metricsPort);
  const expected: Array<[string, string]> = [
    ['parley_http_requests_total', 'counter'],
    ['parley_http_request_duration_seconds', 'histogram'],
    ['parley_messages_sent_total', 'counter'],
    ['parley_messages_deleted_total', 'counter'],
    ['parley_connected_clients', 'gauge'],
    ['parley_ring_fill_ratio', 'gauge'],
    ['parley_journal_fsync_seconds', 'histogram'],
    ['parley_worker_queue_length', 'gauge'],
    ['parley_worker_utilization', 'gauge'],
    ['parley_process_cpu_seconds_total', 'counter'],
    ['parley_process_resident_memory_bytes', 'gauge'],
    ['parley_nodejs_heap_size_used_bytes', 'gauge'],
    ['parley_nodejs_eventloop_lag_seconds', 'gauge'],
  ];
  for (const [name, type] of expected) assert.equal(metrics.types.get(name), type, name);

  assert.equal(value(metrics, 'parley_connected_clients', { transport: 'tcp' }), 1);
  for (const transport of ['sse', 'longpoll']) {
    assert.ok(metrics.samples.some((s) => s.name === 'parley_connected_clients' && s.labels.transport === transport), transport);
  }
  const fill = value(metrics, 'parley_ring_fill_ratio');
  assert.ok(fill > 0 && fill <= 1, `ring fill ${fill}`);
  const utilization = value(metrics, 'parley_worker_utilization');
  assert.ok(utilization >= 0 && utilization <= 1, `worker utilisation ${utilization}`);
  assert.ok(value(metrics, 'parley_journal_fsync_seconds_count') >= 1, 'the sent message was fsynced');
  assert.ok(value(metrics, 'parley_process_resident_memory_bytes') > 0);
});

test('counters move as messages are sent and deleted and requests answered', { timeout: 30_000 }, async (t) => {
  const server = await start(t);
  const client = await loggedIn(t, server, 'counter');
  const before = await scrape(server.metricsPort);

  const sent = [];
  for (let i = 0; i < 3; i++) sent.push(await sendMessage(client, `message ${i}`));
  const deleted = await client.request({ op: 'delete', messageId: sent[0]!.id });
  assert.equal(deleted.ok, true, JSON.stringify(deleted));
  for (let i = 0; i < 2; i++) await (await fetch(`${server.baseUrl}/api/health`)).arrayBuffer();

  const after = await scrape(server.metricsPort);
  const moved = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - value(before, name, labels);
  assert.equal(moved('parley_messages_sent_total'), 3);
  assert.equal(moved('parley_messages_deleted_total'), 1);
  assert.ok(moved('parley_journal_fsync_seconds_count') >= 1);
  const healthOk = (e: Exposition) =>
    e.samples
      .filter((s) => s.name === 'parley_http_requests_total' && s.labels.status === '200' && /health/.test(s.labels.route ?? ''))
      .reduce((sum, s) => sum + s.value, 0);
  assert.equal(healthOk(after) - healthOk(before), 2, 'two GET /api/health counted by route and status');
});

test('--metrics-port 0 serves /metrics on a port of its own, and not on the HTTP port', { timeout: 30_000 }, async (t) => {
  const server = await start(t, '--metrics-port', '0');
  assert.notEqual(server.metricsPort, server.httpPort);
  const metrics = await scrape(server.metricsPort);
  assert.equal(metrics.types.get('parley_http_requests_total'), 'counter');
  const onHttp = await fetch(`${server.baseUrl}/metrics`);
  await onHttp.arrayBuffer();
  assert.equal(onHttp.status, 404);
});

test('--metrics-port off serves no /metrics at all', { timeout: 30_000 }, async (t) => {
  const server = await start(t, '--metrics-port', 'off');
  const response = await fetch(`${server.baseUrl}/metrics`);
  await response.arrayBuffer();
  assert.equal(response.status, 404);
});

test('GET /api/health answers 200 {"status":"ok"} when the store and workers answer', { timeout: 30_000 }, async (t) => {
  const server = await start(t);
  const response = await fetch(`${server.baseUrl}/api/health`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  const body = (await response.json()) as Frame;
  assert.equal(body.status, 'ok');
});

test('GET /api/health answers 503 with Retry-After while a cluster node cannot reach Redis, and 200 once it is back', { timeout: 60_000 }, async (t) => {
  const redis = await startRedis({ appendfsync: 'off' });
  t.after(() => redis.stop());
  const server = await startServer({ args: ['--cluster', redis.url, '--workers', '0'] });
  t.after(() => server.stop());
  const health = async () => {
    const response = await fetch(`${server.baseUrl}/api/health`);
    return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as Frame };
  };
  assert.equal((await health()).status, 200);

  await redis.kill();
  const down = await pollUntil('a 503 from /api/health', async () => {
    const answer = await health();
    return answer.status === 503 && answer;
  }, 15_000);
  assert.equal(down.body.code, 'UNAVAILABLE');
  assert.match(String(down.body.error), /not answering, or cannot write to disk\); see chat\.log/);
  assert.ok(Number(down.retryAfter) > 0, `Retry-After: ${down.retryAfter}`);

  await redis.restart();
  await pollUntil('a 200 from /api/health again', async () => (await health()).status === 200, 15_000);
});
