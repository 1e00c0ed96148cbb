// Startup failures that no configuration check foresees (a data file the store refuses, a file
// the system will not open, a Redis holding something else) end the process the same way as a
// busy port: exit code 1, one `parley: ` sentence on stderr, and no parley.pid left behind.
// Before, such an error went only to chat.log and the process exited 0.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startRedis } from '../helpers/redis.js';
import { readLogLines, runServer, type Finished } from './support.js';

/** A data folder (with `prepare` run on it) and the flags for a server using it. */
function dataFolder(t: { after(fn: () => void): void }, prepare: (dataDir: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'parley-startup-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  prepare(dataDir);
  const flags = (log: string) => ['--host', '127.0.0.1', '--tcp-port', '0', '--http-port', '0', '--workers', '1', '--data-dir', dataDir, '--log', log];
  return { dir, dataDir, flags };
}

function assertRefused(result: Finished, dataDir: string, sentence: RegExp) {
  assert.equal(result.code, 1, `exit code; printed:\n${result.stdout}${result.stderr}`);
  assert.doesNotMatch(result.stdout, /PARLEY_READY/);
  const lines = result.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, not:\n${result.stderr}`);
  assert.match(lines[0]!, /^parley: /);
  assert.match(lines[0]!, sentence);
  assert.ok(!existsSync(join(dataDir, 'parley.pid')), 'parley.pid is left behind');
  assert.deepEqual(readdirSync(dataDir).filter((name) => name.startsWith('parley.pid')), [], 'no claim file is left behind');
}

test('a journal.log that is not a Parley journal stops the start with exit 1 and says so, even with --log off', { timeout: 20_000 }, async (t) => {
  const { dataDir, flags } = dataFolder(t, (dataDir) => writeFileSync(join(dataDir, 'journal.log'), randomBytes(4096)));
  const result = await runServer(flags('off'));
  assertRefused(result, dataDir, /journal\.log is not a Parley journal.*move it away/);
});

test('a failed start is also written to chat.log as an error with its stack', { timeout: 20_000 }, async (t) => {
  const { dir, dataDir, flags } = dataFolder(t, (dataDir) => writeFileSync(join(dataDir, 'journal.log'), 'PLAINTEXT notes, not a journal\n'));
  const log = join(dir, 'chat.log');
  assertRefused(await runServer(flags(log)), dataDir, /not a Parley journal/);
  const failed = readLogLines(log).find((line) => line.event === 'start-failed');
  assert.ok(failed, `no start-failed line in ${log}`);
  assert.equal(failed.level, 'error');
  const error = failed.error as { message: string; stack: string };
  assert.match(error.message, /not a Parley journal/);
  assert.match(error.stack, /\n\s+at /);
});

test('a journal the system will not open (a folder in its place) is refused with its path and exit 1', { timeout: 20_000 }, async (t) => {
  const { dataDir, flags } = dataFolder(t, (dataDir) => mkdirSync(join(dataDir, 'journal.log')));
  const result = await runServer(flags('off'));
  assertRefused(result, dataDir, new RegExp(`cannot use ${join(dataDir, 'journal.log')}: it is a folder where a file was expected \\(EISDIR`));
});

test('an unreadable sessions file names the data folder, since the system error names no path', { timeout: 20_000 }, async (t) => {
  const { dataDir, flags } = dataFolder(t, (dataDir) => mkdirSync(join(dataDir, 'sessions.jsonl')));
  const result = await runServer(flags('off'));
  assertRefused(result, dataDir, new RegExp(`cannot use a file in the data folder ${dataDir}: .*EISDIR`));
});

test('a cluster start that fails releases the PID file and exits 1', { timeout: 30_000 }, async (t) => {
  const redis = await startRedis({ appendfsync: 'off' });
  t.after(() => redis.stop());
  const { createClient } = await import('redis');
  const client = createClient({ url: redis.url });
  await client.connect();
  await client.set('parley:changes', 'not a stream');
  await client.quit();

  const { dataDir, flags } = dataFolder(t, () => {});
  const result = await runServer([...flags('off'), '--cluster', redis.url]);
  assertRefused(result, dataDir, /cannot read the chat from Redis .*WRONGTYPE.*is parley:changes a Parley stream\?/);
});
