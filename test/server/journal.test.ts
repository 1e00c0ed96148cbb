import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Journal, JOURNAL_FILE } from '../../server/journal.js';
import { crc32, MAX_RECORD_BYTES } from '../../server/journal-format.js';
import { writeSnapshot } from '../../server/journal-snapshot.js';
import type { Change, MessageChange } from '../../server/ring-buffer.js';
import { temporaryFolder } from '../helpers/temporary-folder.js';

function message(seq: number, text = `message ${seq}`): MessageChange {
  return { kind: 'message', seq, user: 'ann', text, timeMs: 1_700_000_000_000 + seq, clientId: seq % 2 === 0 ? `c${seq}` : null, deletedAt: 0 };
}

function messages(from: number, to: number): Change[] {
  return Array.from({ length: to - from + 1 }, (_, i) => message(from + i));
}

async function reopen(dir: string): Promise<{ records: Change[]; truncatedBytes: number; recordCount: number; sizeBytes: number }> {
  const { journal, records, truncatedBytes } = await Journal.open(dir);
  const result = { records, truncatedBytes, recordCount: journal.recordCount, sizeBytes: journal.sizeBytes };
  await journal.close();
  return result;
}

test('crc32 matches the standard check value', () => {
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  assert.equal(crc32(new Uint8Array()), 0);
});

test('records round-trip across close and reopen', async (t) => {
  const dir = temporaryFolder(t, 'journal');
  const opened = await Journal.open(dir);
  assert.deepEqual(opened.records, []);
  assert.equal(opened.truncatedBytes, 0);
  const written: Change[] = [
    message(1, 'emoji 😀 漢字 e\u0301'),
    message(2),
    { kind: 'delete', seq: 3, messageId: 1, timeMs: 5 },
    { ...message(4), deletedAt: 9 },
  ];
  await opened.journal.append(written.slice(0, 2));
  await opened.journal.append(written.slice(2));
  assert.equal(opened.journal.recordCount, 4);
  await opened.journal.close();
  const again = await reopen(dir);
  assert.deepEqual(again.records, written);
  assert.equal(again.truncatedBytes, 0);
  assert.equal(again.recordCount, 4);
  assert.equal(again.sizeBytes, statSync(join(dir, JOURNAL_FILE)).size);
});

test('records come back in seq order even when appended out of order', async (t) => {
  const dir = temporaryFolder(t, 'journal');
  const { journal } = await Journal.open(dir);
  await Promise.all([journal.append([message(5)]), journal.append([message(3), message(4)])]);
  await journal.append([message(2)]);
  await journal.close();
  assert.deepEqual((await reopen(dir)).records.map((r) => r.seq), [2, 3, 4, 5]);
});

test('a torn last record is cut off, earlier records are kept and later appends work', async (t) => {
  const dir = temporaryFolder(t, 'journal');
  const { journal } = await Journal.open(dir);
  await journal.append(messages(1, 3));
  await journal.close();
  const path = join(dir, JOURNAL_FILE);
  const whole = statSync(path).size;
  truncateSync(path, whole - 5);

  const torn = await Journal.open(dir);
  assert.deepEqual(torn.records.map((r) => r.seq), [1, 2]);
  const lastFrame = 8 + Buffer.byteLength(JSON.stringify(message(3)));
  assert.equal(torn.truncatedBytes, lastFrame - 5);
  assert.equal(statSync(path).size, whole - lastFrame, 'the file itself was truncated');
  await torn.journal.append([message(3), message(4)]);
  await torn.journal.close();
  const again = await reopen(dir);
  assert.deepEqual(again.records.map((r) => r.seq), [1, 2, 3, 4]);
  assert.equal(again.truncatedBytes, 0);
});

test('garbage, zeros or a flipped bit at the end are dropped, never fatal', async (t) => {
  const tails: Array<[string, (path: string) => void]> = [
    ['random garbage', (path) => appendFileSync(path, Buffer.from('\x07\x00\x00\x00garbage!!!', 'latin1'))],
    ['zeros from a crash', (path) => appendFileSync(path, Buffer.alloc(4096))],
    ['a huge length', (path) => appendFileSync(path, Buffer.from([0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4, 5]))],
    ['a flipped bit in the last payload', (path) => {
      const data = readFileSync(path);
      data[data.length - 3]! ^= 0x10;
      writeFileSync(path, data);
    }],
    ['a valid frame that is not a change', (path) => {
      const payload = Buffer.from('{"kind":"message","seq":-1}');
      const header = Buffer.alloc(8);
      header.writeUInt32LE(payload.length, 0);
      header.writeUInt32LE(crc32(payload), 4);
      appendFileSync(path, Buffer.concat([header, payload]));
    }],
  ];
  for (const [name, damage] of tails) {
    const dir = temporaryFolder(t, 'journal');
    const { journal } = await Journal.open(dir);
    await journal.append(messages(1, 3));
    await journal.close();
    damage(join(dir, JOURNAL_FILE));
    const expected = name.startsWith('a flipped') ? [1, 2] : [1, 2, 3];
    const damaged = await Journal.open(dir);
    assert.deepEqual(damaged.records.map((r) => r.seq), expected, name);
    assert.ok(damaged.truncatedBytes > 0, name);
    await damaged.journal.append([message(10)]);
    await damaged.journal.close();
    assert.deepEqual((await reopen(dir)).records.map((r) => r.seq), [...expected, 10], name);
  }
});

test('an empty or header-torn file starts a fresh journal; a foreign file is refused', async (t) => {
  const dir = temporaryFolder(t, 'journal');
  writeFileSync(join(dir, JOURNAL_FILE), 'PRLY');
  assert.deepEqual((await reopen(dir)).records, []);
  assert.equal(statSync(join(dir, JOURNAL_FILE)).size, 8);
  writeFileSync(join(dir, JOURNAL_FILE), '{"some": "other file format"}\n');
  await assert.rejects(Journal.open(dir), /is not a Parley journal/);
});

test('appends made while a sync is in flight share the next sync (group commit)', async (t) => {
  const dir = temporaryFolder(t, 'journal');
  const syncs: number[] = [];
  const { journal } = await Journal.open(dir, { onFsync: (seconds, records) => {
    assert.ok(seconds >= 0);
    syncs.push(records);
  } });
  const appends: Promise<void>[] = [];
  for (let tick = 0; tick < 20; tick++) {
    for (let i = 1; i <= 10; i++) appends.push(journal.append([message(tick * 10 + i)]));
    await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all(appends);
  assert.ok(syncs.length <= 20, `${syncs.length} syncs for 200 appends`);
  assert.equal(syncs.reduce((a, b) => a + b, 0), 200);
  await journal.close();
  assert.deepEqual((await reopen(dir)).records.map((r) => r.seq), messages(1, 200).map((r) => r.seq));
});

test('compaction keeps the snapshot of what came before it and every record appended during it', async (t) => {
  const dir = temporaryFolder(t, 'journal');
  const { journal } = await Journal.open(dir);
  await journal.append(messages(1, 10));
  const sizeBefore = journal.sizeBytes;
  const retained = [message(2), message(5), { kind: 'delete', seq: 9, messageId: 5, timeMs: 1 } as Change];
  let duringSnapshot: Promise<void> | undefined;
  const compacted = journal.compact(async (path) => {
    // Appends go on while the snapshot is written (on a worker thread, in the store).
    duringSnapshot = journal.append([message(11), message(12)]);
    await duringSnapshot;
    return writeSnapshot(path, retained);
  });
  const after = new Promise((resolve) => setImmediate(resolve)).then(() => journal.append([message(13)]));
  await Promise.all([compacted, after]);
  assert.ok(duringSnapshot, 'the snapshot was written');
  assert.equal(journal.recordCount, 6, 'the snapshot and the three records appended around it');
  assert.ok(journal.sizeBytes < sizeBefore + 300);
  assert.equal(journal.sizeBytes, statSync(join(dir, JOURNAL_FILE)).size);
  await journal.append([message(14)]);
  await journal.close();
  assert.deepEqual(readdirSync(dir), [JOURNAL_FILE], 'no temporary file left behind');
  const again = await reopen(dir);
  assert.deepEqual(again.records, [...retained, message(11), message(12), message(13), message(14)]);
  assert.equal(again.recordCount, 7);
});

test('a compaction whose snapshot fails leaves the journal as it was, and later appends work', async (t) => {
  const dir = temporaryFolder(t, 'journal');
  const { journal } = await Journal.open(dir);
  await journal.append(messages(1, 5));
  await assert.rejects(journal.compact(async () => { throw new Error('the worker died'); }), /the worker died/);
  await journal.append([message(6)]);
  await journal.close();
  assert.deepEqual(readdirSync(dir), [JOURNAL_FILE], 'no temporary file left behind');
  assert.deepEqual((await reopen(dir)).records, messages(1, 6));
});

test('close() flushes waiting appends; appends after close and oversized records are refused', async (t) => {
  const dir = temporaryFolder(t, 'journal');
  const { journal } = await Journal.open(dir);
  const waiting = journal.append([message(1)]);
  await journal.close();
  await waiting;
  await assert.rejects(journal.append([message(2)]), /the journal is closed/);
  assert.deepEqual((await reopen(dir)).records.map((r) => r.seq), [1]);

  const { journal: second } = await Journal.open(dir);
  await assert.rejects(second.append([message(2, 'x'.repeat(MAX_RECORD_BYTES))]), RangeError);
  await second.close();
});

test('kill -9 during a burst of appends loses no acknowledged record', async (t) => {
  const dir = temporaryFolder(t, 'journal');
  const child = fileURLToPath(new URL('./journal-crash-child.js', import.meta.url));
  let acknowledged: number[] = [];
  for (let round = 0; round < 3; round++) {
    const proc = spawn(process.execPath, [child, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const closed = once(proc, 'close');
    const target = acknowledged.length + 300 + round * 250;
    for await (const line of createInterface({ input: proc.stdout! })) {
      acknowledged.push(Number(line));
      if (acknowledged.length === target) proc.kill('SIGKILL');
    }
    const [code, signal] = await closed;
    assert.equal(signal, 'SIGKILL', `the child exited by itself (code ${code})`);
    const { records } = await reopen(dir);
    const present = new Set(records.map((r) => r.seq));
    const lost = acknowledged.filter((seq) => !present.has(seq));
    assert.deepEqual(lost, [], `round ${round}: acknowledged records lost`);
    assert.ok(records.every((r, i) => i === 0 || r.seq > records[i - 1]!.seq));
    acknowledged = [...present];
  }
});
