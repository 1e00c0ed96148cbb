// How the web client groups and labels messages, without a browser.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { importClientModule } from './helpers/client-module.js';

type FormatModule = typeof import('../../client/web/format.js');
let format: FormatModule;
before(async () => {
  format = await importClientModule<FormatModule>('format.ts');
});

const at = (user: string, minute: number) => ({ user, time: new Date(Date.UTC(2026, 10, 23, 12, minute)).toISOString() });

/** Which messages of a run start a group (show the author's name and avatar). */
function groupStarts(messages: { user: string; time: string }[]): number[] {
  const starts: number[] = [];
  let groupSize = 0;
  messages.forEach((message, i) => {
    const isContinued = format.continuesGroup(messages[i - 1], message, groupSize);
    groupSize = isContinued ? groupSize + 1 : 1;
    if (!isContinued) starts.push(i);
  });
  return starts;
}

describe('message groups', () => {
  test('messages by one person a few minutes apart share one author line', () => {
    assert.deepEqual(groupStarts([at('bob', 0), at('bob', 1), at('bob', 3)]), [0]);
  });

  test('another author, or a long pause, starts a new group', () => {
    assert.deepEqual(groupStarts([at('bob', 0), at('ann', 1), at('ann', 2), at('ann', 20)]), [0, 1, 3]);
  });

  test('a long run by one author repeats the name every ten messages', () => {
    const run = Array.from({ length: 25 }, () => at('bob', 0));
    assert.equal(format.MAX_GROUP_SIZE, 10);
    assert.deepEqual(groupStarts(run), [0, 10, 20]);
  });
});
