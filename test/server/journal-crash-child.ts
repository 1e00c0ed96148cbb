// Child process of the journal kill -9 test: appends from 16 concurrent senders as fast as the
// disk allows, compacting now and then, and prints each seq once its append has resolved.
// The parent kills it with SIGKILL mid-burst and checks that every printed seq survived.
import { Journal } from '../../server/journal.js';
import { writeSnapshot } from '../../server/journal-snapshot.js';
import type { Change } from '../../server/ring-buffer.js';

const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: journal-crash-child.js DIR');

const { journal, records } = await Journal.open(dir);
const kept: Change[] = [...records];
let next = kept.length > 0 ? kept[kept.length - 1]!.seq : 0;

async function sender(): Promise<void> {
  for (;;) {
    const seq = ++next;
    const change: Change = { kind: 'message', seq, user: 'crash', text: `message ${seq} `.padEnd(300, '·'), timeMs: Date.now(), clientId: null, deletedAt: 0 };
    kept.push(change);
    await journal.append([change]);
    process.stdout.write(`${seq}\n`);
    if (seq % 400 === 0) {
      const snapshot = kept.slice();
      await journal.compact(async (path) => writeSnapshot(path, snapshot));
    }
  }
}

await Promise.all(Array.from({ length: 16 }, sender));
