// How a node is told to join a cluster: --cluster or PARLEY_CLUSTER, and --node-name or
// PARLEY_NODE_NAME; checked as parsed, then with real processes on a real redis-server.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ConfigError, loadConfig, type Config } from '../../server/config.js';
import { startRedis } from '../helpers/redis.js';
import { startServer } from '../helpers/server.js';
import { WebClient } from './support.js';

function parse(argv: string[], env: Record<string, string> = {}): Config {
  const config = loadConfig(argv, env, '/tmp');
  assert.ok(config !== null);
  return config;
}

test('--cluster and PARLEY_CLUSTER name the Redis to join; the flag wins, and without either a node runs alone', () => {
  assert.equal(parse([]).cluster, null);
  assert.equal(parse(['--cluster', 'redis://10.0.0.5:6379/2']).cluster, 'redis://10.0.0.5:6379/2');
  assert.equal(parse([], { PARLEY_CLUSTER: 'rediss://:secret@redis.internal:6380/0' }).cluster, 'rediss://:secret@redis.internal:6380/0');
  assert.equal(parse(['--cluster', 'redis://flag:6379/0'], { PARLEY_CLUSTER: 'redis://env:6379/0' }).cluster, 'redis://flag:6379/0');
  assert.equal(parse([], { PARLEY_CLUSTER: '  redis://spaced:6379/0 ' }).cluster, 'redis://spaced:6379/0');
  assert.equal(parse([], { PARLEY_CLUSTER: '' }).cluster, null, 'an empty variable is no cluster');
});

test('a --cluster that is not a redis:// or rediss:// URL is refused with a sentence', () => {
  for (const [argv, env, shown] of [
    [['--cluster', 'localhost:6379'], {}, 'localhost:6379'],
    [['--cluster', 'http://redis:6379/0'], {}, 'http://redis:6379/0'],
    [[], { PARLEY_CLUSTER: 'redis-host' }, 'redis-host'],
  ] as const) {
    assert.throws(() => loadConfig([...argv], env), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.message, `--cluster must be a redis:// or rediss:// URL, not "${shown}".`);
      return true;
    });
  }
  assert.throws(() => loadConfig(['--cluster'], {}), ConfigError, 'the flag needs its URL');
});

test('--node-name and PARLEY_NODE_NAME name the node; without them it has none of its own', () => {
  assert.equal(parse([]).nodeName, null);
  assert.equal(parse(['--node-name', 'a']).nodeName, 'a');
  assert.equal(parse([], { PARLEY_NODE_NAME: 'b' }).nodeName, 'b');
  assert.equal(parse(['--node-name', 'flag'], { PARLEY_NODE_NAME: 'env' }).nodeName, 'flag');
});

test('a node given its cluster and name only through the environment joins, and says so in its banner and log', async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const byFlag = await startServer({ args: ['--cluster', redis.url, '--node-name', 'flagged', '--workers', '0'] });
  t.after(() => byFlag.stop());
  const byEnv = await startServer({ args: ['--workers', '0'], env: { PARLEY_CLUSTER: redis.url, PARLEY_NODE_NAME: 'from-env' } });
  t.after(() => byEnv.stop());

  const web = await WebClient.login(byFlag.baseUrl, 'ada');
  const sent = await web.json('POST', '/api/messages', { text: 'sent through the node started with flags' });
  assert.equal(sent.status, 201);
  const page = await web.on(byEnv.baseUrl).json('GET', '/api/messages?limit=10');
  assert.deepEqual(page.body.messages, [sent.body], 'the node started from the environment shares the chat');

  assert.match(byEnv.output(), new RegExp(`Cluster +redis://127\\.0\\.0\\.1:${redis.port}/0 as node from-env`));
  assert.match(byFlag.output(), /Cluster +redis:\/\/.* as node flagged/);
  const events = readFileSync(byEnv.logFile, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
  assert.equal(events.find((e) => e.event === 'cluster-joined')?.node, 'from-env');
  assert.equal(events.find((e) => e.event === 'start')?.node, 'from-env');
});

test('a node started with a --cluster that is not a URL exits with the sentence before it listens', async () => {
  await assert.rejects(startServer({ args: ['--cluster', 'localhost:6379'] }), /exited with 2[\s\S]*--cluster must be a redis:\/\/ or rediss:\/\/ URL, not "localhost:6379"/);
});

test('a node started with another --capacity than its cluster exits with code 2 and the sentence, so systemd does not retry it', async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const first = await startServer({ args: ['--cluster', redis.url, '--workers', '0', '--capacity', '4096'] });
  t.after(() => first.stop());
  await assert.rejects(
    startServer({ args: ['--cluster', redis.url, '--workers', '0', '--capacity', '8192'] }),
    /exited with 2[\s\S]*this node runs with --capacity 8192, but the cluster keeps 4096 changes; start every node with --capacity 4096/,
  );
});
