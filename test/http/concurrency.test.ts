// Many clients at once: 40 users, each on its own SSE stream, all sending at the same time;
// every stream sees every message exactly once and in the same order as the store.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { login, SseReader, start } from './support.js';

const USERS = 40;
const MESSAGES_EACH = 5;

test('40 concurrent users see all 200 messages, once each, in one order', { timeout: 60_000 }, async (t) => {
  const server = await start(t);
  const users = await Promise.all(Array.from({ length: USERS }, (_, i) => login(server.baseUrl, `user${i}`)));
  const streams = await Promise.all(users.map((user) => SseReader.open(user)));

  const sent = (
    await Promise.all(
      users.map(async (user) => {
        const mine = [];
        for (let i = 0; i < MESSAGES_EACH; i++) mine.push(await user.send(`${user.username} #${i}`, `${user.username}-${i}`));
        return mine;
      }),
    )
  ).flat();
  assert.equal(new Set(sent.map((m) => m.id)).size, USERS * MESSAGES_EACH, 'unique ids');
  const last = Math.max(...sent.map((m) => m.id));

  const history = (await (await users[0]!.fetch('/api/messages?limit=1000')).json()) as { messages: Array<{ id: number }> };
  const order = history.messages.map((m) => m.id);
  for (const stream of streams) {
    await stream.reach(last);
    const ids = stream.events.map((e) => (JSON.parse(e.data) as { id: number }).id);
    assert.deepEqual(ids, order);
    stream.close();
  }
  // Polling clients in parallel with everything above see the same.
  const polls = await Promise.all(users.map((user) => user.fetch('/api/messages?last=0&limit=1000').then((r) => r.json())));
  for (const poll of polls) assert.deepEqual((poll as { messages: Array<{ id: number }> }).messages.map((m) => m.id), order);
});
