// The sessions file: torn or odd lines left by a crash, and a login flood that must not grow it
// without bound. Real files in a temporary folder, and a real server for the restart.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test, { type TestContext } from 'node:test';
import { hashToken } from '../../server/chat/session-token.js';
import { SessionStore } from '../../server/store/sessions.js';
import { startServer } from '../helpers/server.js';
import { RawClient } from '../helpers/tcp-client.js';
import { temporaryFolder } from '../helpers/temporary-folder.js';

function addLine(username: string, token: string): string {
  return `${JSON.stringify({ op: 'add', hash: hashToken(token), username, createdMs: 1 })}\n`;
}

test('a login made after a crash tore the last line of sessions.jsonl survives the next restart', async (t) => {
  const dataDir = temporaryFolder(t, 'sessions');
  // A crash in the middle of an append: one whole line, then half of the next.
  const torn = '{"op":"add","hash":"hKx0';
  writeFileSync(join(dataDir, 'sessions.jsonl'), addLine('before', 'token-before') + torn);

  const first = await startServer({ dataDir });
  const client = await RawClient.connect(first.tcpPort);
  const login = await client.login('after-crash');
  client.close();
  assert.equal(await first.stop(), 0);
  assert.ok(!readFileSync(join(dataDir, 'sessions.jsonl'), 'utf8').includes(torn), 'the fragment was cut off the file');

  const second = await startServer({ dataDir });
  t.after(() => second.stop());
  const again = await RawClient.connect(second.tcpPort);
  const resumed = await again.request('resume', { token: login.token });
  assert.equal(resumed.ok, true, JSON.stringify(resumed));
  assert.equal(resumed.username, 'after-crash');
  assert.equal((await again.request('resume', { token: 'token-before' })).username, 'before');
  again.close();
});

test('lines that are JSON but not session entries (null, numbers, lists, half entries) are skipped', async (t) => {
  const dir = temporaryFolder(t, 'sessions');
  const odd = ['null', '42', '[]', '"add"', '{"op":"add"}', '{"op":"remove"}', '{"op":"add","hash":"h","username":7,"createdMs":1}'];
  writeFileSync(join(dir, 'sessions.jsonl'), `${odd.join('\n')}\n${addLine('kept', 'kept-token')}`);
  const store = await SessionStore.open(dir);
  t.after(() => store.close());
  assert.equal(store.size, 1);
  assert.equal(store.get('kept-token')?.username, 'kept');
});

test('a flood of logins and logouts rewrites sessions.jsonl while running, so it stays small', async (t) => {
  const dir = temporaryFolder(t, 'sessions');
  const store = await SessionStore.open(dir);
  const { token: kept } = await store.create('stays');
  const rounds = 1500;
  for (let i = 0; i < rounds; i++) await store.remove((await store.create(`flood${i}`)).token);
  await store.close();

  const lines = readFileSync(join(dir, 'sessions.jsonl'), 'utf8').split('\n').filter(Boolean);
  // 3,001 lines were appended; a rewrite keeps the live sessions, then at most 2 x live + 1,000 more.
  assert.ok(lines.length <= 1003, `the file has ${lines.length} lines`);
  const reopened = await SessionStore.open(dir);
  t.after(() => reopened.close());
  assert.equal(reopened.size, 1);
  assert.equal(reopened.get(kept)?.username, 'stays');
});
