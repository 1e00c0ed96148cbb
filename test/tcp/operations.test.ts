// Every TCP protocol operation against a real server process.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startServer, type RunningServer } from '../helpers/server.js';
import { RawClient } from '../helpers/tcp-client.js';

let server: RunningServer;
before(async () => {
  server = await startServer({ args: ['--workers', '2'] });
});
after(async () => {
  await server.stop();
});

describe('TCP operations', () => {
  test('hello frame announces the protocol and its limits', async () => {
    const client = await RawClient.connect(server.tcpPort);
    const hello = client.frames[0]!;
    assert.deepEqual(hello, { event: 'hello', server: 'parley', protocol: 1, limits: { maxFrameBytes: 65536, maxTextLength: 4000 } });
    client.close();
  });

  test('login normalises the name and returns a 256-bit token', async () => {
    const client = await RawClient.connect(server.tcpPort);
    const reply = await client.request('login', { username: '  Zoe\u0301  ' });
    assert.equal(reply.ok, true);
    assert.equal(reply.username, 'Zo\u00e9');
    assert.equal(Buffer.from(reply.token, 'base64url').length, 32);
    client.close();
  });

  test('invalid usernames get INVALID_USERNAME with a reason', async () => {
    const client = await RawClient.connect(server.tcpPort);
    for (const username of ['', '   ', 'x'.repeat(33), 'evil\u202egnp', 'zero\u200bwidth', 'bell\u0007', 42]) {
      const reply = await client.request('login', { username });
      assert.equal(reply.ok, false, JSON.stringify(username));
      assert.equal(reply.error.code, 'INVALID_USERNAME');
      assert.match(reply.error.message, /username/);
    }
    client.close();
  });

  test('send, history and delete', async () => {
    const client = await RawClient.connect(server.tcpPort);
    await client.login('alice');
    const sent = await client.request('send', { text: 'héllo 👋 wörld' });
    assert.equal(sent.ok, true);
    assert.equal(sent.duplicate, false);
    assert.equal(sent.message.user, 'alice');
    assert.equal(sent.message.text, 'héllo 👋 wörld');
    assert.ok(Number.isSafeInteger(sent.message.id));
    assert.ok(!Number.isNaN(Date.parse(sent.message.time)));

    const newest = await client.request('history', { limit: 5 });
    assert.deepEqual(newest.messages.at(-1), sent.message);
    assert.ok(newest.last >= sent.message.id);

    const second = await client.request('send', { text: 'second' });
    const page = await client.request('history', { before: second.message.id, limit: 1 });
    assert.deepEqual(page.messages, [sent.message]);

    const changes = await client.request('history', { last: sent.message.id });
    assert.deepEqual(changes.messages, [second.message]);
    assert.deepEqual(changes.deleted, []);

    const deleted = await client.request('delete', { messageId: sent.message.id });
    assert.equal(deleted.ok, true);
    assert.ok(deleted.cursor > second.message.id);
    const afterDelete = await client.request('history', { last: second.message.id });
    assert.deepEqual(afterDelete.deleted, [sent.message.id]);
    assert.equal(afterDelete.last, deleted.cursor);

    const again = await client.request('delete', { messageId: sent.message.id });
    assert.equal(again.error.code, 'NOT_FOUND');
    client.close();
  });

  test('a retried send with the same clientId returns the original, never a duplicate', async () => {
    const client = await RawClient.connect(server.tcpPort);
    await client.login('retrier');
    const [first, racing] = await Promise.all([
      client.request('send', { text: 'once', clientId: 'c-1' }),
      client.request('send', { text: 'once', clientId: 'c-1' }),
    ]);
    const later = await client.request('send', { text: 'once', clientId: 'c-1' });
    assert.equal(first.message.id, racing.message.id);
    assert.equal(first.message.id, later.message.id);
    assert.equal(later.duplicate, true);
    const history = await client.request('history', { limit: 1000 });
    assert.equal(history.messages.filter((m: { text: string; user: string }) => m.user === 'retrier').length, 1);

    // Another user's identical clientId is a different message.
    const other = await RawClient.connect(server.tcpPort);
    await other.login('someone-else');
    const theirs = await other.request('send', { text: 'once', clientId: 'c-1' });
    assert.notEqual(theirs.message.id, first.message.id);
    client.close();
    other.close();
  });

  test("deleting someone else's message is FORBIDDEN and a missing one NOT_FOUND", async () => {
    const alice = await RawClient.connect(server.tcpPort);
    const bob = await RawClient.connect(server.tcpPort);
    await alice.login('alice2');
    await bob.login('bob2');
    const sent = await alice.request('send', { text: 'mine' });
    const forbidden = await bob.request('delete', { messageId: sent.message.id });
    assert.equal(forbidden.error.code, 'FORBIDDEN');
    assert.match(forbidden.error.message, /your own/);
    const missing = await bob.request('delete', { messageId: 99_999_999 });
    assert.equal(missing.error.code, 'NOT_FOUND');
    const badId = await bob.request('delete', { messageId: 'seven' });
    assert.equal(badId.error.code, 'BAD_REQUEST');
    const still = await alice.request('history', { last: sent.message.id - 1 });
    assert.deepEqual(still.messages, [sent.message]);
    alice.close();
    bob.close();
  });

  test('operations that need a session say so', async () => {
    const client = await RawClient.connect(server.tcpPort);
    for (const [op, fields] of [['send', { text: 'x' }], ['delete', { messageId: 1 }], ['history', {}], ['subscribe', {}]] as const) {
      const reply = await client.request(op, fields);
      assert.equal(reply.error.code, 'NOT_LOGGED_IN', op);
    }
    assert.equal((await client.request('ping')).ok, true);
    client.close();
  });

  test('resume restores a session on a new connection; logout ends it everywhere', async () => {
    const first = await RawClient.connect(server.tcpPort);
    const login = await first.login('carol');
    const second = await RawClient.connect(server.tcpPort);
    const resumed = await second.request('resume', { token: login.token });
    assert.equal(resumed.username, 'carol');
    assert.equal((await second.request('send', { text: 'from the second connection' })).ok, true);

    assert.equal((await first.request('logout')).ok, true);
    const third = await RawClient.connect(server.tcpPort);
    const refused = await third.request('resume', { token: login.token });
    assert.equal(refused.error.code, 'NOT_LOGGED_IN');
    const garbage = await third.request('resume', { token: 'not-a-token' });
    assert.equal(garbage.error.code, 'NOT_LOGGED_IN');
    for (const c of [first, second, third]) c.close();
  });

  test('a retry of a message deleted since gets its id, author and time, never its text (#10)', async () => {
    const client = await RawClient.connect(server.tcpPort);
    await client.login('regretful');
    const original = await client.request('send', { text: 'something I regret', clientId: 'oops-1' });
    await client.request('delete', { messageId: original.message.id });
    const retry = await client.request('send', { text: 'something I regret', clientId: 'oops-1' });
    assert.equal(retry.duplicate, true);
    assert.deepEqual(retry.message, { ...original.message, text: '' });
    client.close();
  });

  test('logging out over HTTP ends the session of a TCP connection at once (#6)', async () => {
    const client = await RawClient.connect(server.tcpPort);
    const login = await client.login('two-screens');
    await client.request('subscribe');
    const response = await fetch(`http://127.0.0.1:${server.httpPort}/api/login`, {
      method: 'DELETE',
      headers: { cookie: `parley_session=${login.token}` },
    });
    assert.equal(response.status, 204);
    const ended = await client.next((f) => f.event === 'session-ended');
    assert.deepEqual(ended, { event: 'session-ended', reason: 'you were logged out (on another connection or server); log in again' });

    const other = await RawClient.connect(server.tcpPort);
    await other.login('still-here');
    const afterwards = await other.request('send', { text: 'not for the logged-out connection' });
    assert.equal((await client.request('send', { text: 'x' })).error.code, 'NOT_LOGGED_IN');
    assert.equal((await client.request('ping')).ok, true, 'the connection stays open');
    assert.ok(!client.frames.some((f) => f.event === 'message' && f.message.id === afterwards.message.id), 'no pushes after the session ended');
    client.close();
    other.close();
  });

  test('logout on one connection pushes session-ended to the session\'s other connections, not to itself (#6)', async () => {
    const first = await RawClient.connect(server.tcpPort);
    const login = await first.login('dora');
    const second = await RawClient.connect(server.tcpPort);
    await second.request('resume', { token: login.token });
    const stranger = await RawClient.connect(server.tcpPort);
    await stranger.login('dora'); // the same name, another session
    assert.equal((await first.request('logout')).ok, true);
    await second.next((f) => f.event === 'session-ended');
    assert.equal((await second.request('send', { text: 'x' })).error.code, 'NOT_LOGGED_IN');
    assert.equal((await first.request('ping')).ok, true);
    assert.equal((await stranger.request('send', { text: 'still logged in' })).ok, true);
    assert.ok(!first.frames.some((f) => f.event === 'session-ended'), 'the connection that logged out is not told');
    assert.ok(!stranger.frames.some((f) => f.event === 'session-ended'), 'another session of the same user is untouched');
    for (const c of [first, second, stranger]) c.close();
  });

  test('text limits: empty, 4,000 characters counted as code points, control characters', async () => {
    const client = await RawClient.connect(server.tcpPort);
    await client.login('limits');
    assert.equal((await client.request('send', { text: '' })).error.code, 'TEXT_EMPTY');
    assert.equal((await client.request('send', { text: ' \n\t ' })).error.code, 'TEXT_EMPTY');
    assert.equal((await client.request('send', {})).error.code, 'BAD_REQUEST');
    const emoji = '😀'.repeat(4000); // 4,000 characters, 16,000 UTF-8 bytes
    assert.equal((await client.request('send', { text: emoji })).ok, true);
    const tooLong = await client.request('send', { text: 'a'.repeat(4001) });
    assert.equal(tooLong.error.code, 'TEXT_TOO_LONG');
    assert.match(tooLong.error.message, /4001 .*4000/);
    assert.equal((await client.request('send', { text: 'esc \u001b[2J' })).error.code, 'BAD_REQUEST');
    assert.equal((await client.request('send', { text: 'x', clientId: 'y'.repeat(65) })).error.code, 'BAD_REQUEST');
    client.close();
  });

  test('history validates its arguments', async () => {
    const client = await RawClient.connect(server.tcpPort);
    await client.login('pager');
    assert.equal((await client.request('history', { limit: 0 })).error.code, 'BAD_REQUEST');
    assert.equal((await client.request('history', { limit: 1001 })).error.code, 'BAD_REQUEST');
    assert.equal((await client.request('history', { last: -1 })).error.code, 'BAD_REQUEST');
    assert.equal((await client.request('history', { last: 1, before: 5 })).error.code, 'BAD_REQUEST');
    client.close();
  });
});

describe('a client that stops sending (half-close)', () => {
  test('gets the replies to everything it sent, then the server ends the connection', async () => {
    // What `printf '...' | nc -q 1 localhost 8783` does: send the frames, then shut down the
    // sending side. A send's reply waits for the journal's fsync, after the client's FIN.
    const client = await RawClient.connect(server.tcpPort);
    client.socket.end('{"id":1,"op":"login","username":"half"}\n{"id":2,"op":"send","text":"sent, then shut"}\n{"id":3,"op":"ping"}\n');
    await client.closed;
    const replies = client.frames.filter((f) => f.id !== undefined).sort((a, b) => Number(a.id) - Number(b.id));
    assert.deepEqual(replies.map((f) => [f.id, f.ok]), [[1, true], [2, true], [3, true]]);
    assert.equal(replies[1]!.message.text, 'sent, then shut');
  });

  test('a client that reads its last large reply slowly after shutting its side gets all of it', async (t) => {
    const own = await startServer();
    t.after(() => own.stop());
    const writer = await RawClient.connect(own.tcpPort);
    await writer.login('seeder');
    // 1,000 messages of 12 KB of UTF-8: a 12 MB history page, more than the kernel buffers hold.
    const text = '€'.repeat(4000);
    await Promise.all(Array.from({ length: 1000 }, () => writer.request('send', { text })));
    writer.close();

    const client = await RawClient.connect(own.tcpPort);
    await client.login('slow-pipe');
    // A slow pipe: at most one read (64 KB) per 20 ms, so the page takes seconds to arrive.
    client.socket.on('data', () => {
      client.socket.pause();
      setTimeout(() => client.socket.resume(), 20);
    });
    client.socket.end(`${JSON.stringify({ id: 'page', op: 'history', limit: 1000 })}\n`);
    await client.closed;
    const page = client.frames.find((f) => f.id === 'page');
    assert.ok(page, 'the page arrived before the server closed the connection');
    assert.equal(page.messages.length, 1000);
  });

  test('a subscriber that closes is let go at once, without waiting for a push to fail', async () => {
    const listener = await RawClient.connect(server.tcpPort);
    await listener.login('leaver');
    await listener.request('subscribe');
    const before = await tcpClients();
    listener.socket.end();
    // Closed only once the server has closed its side too, with no traffic at all: a half-open
    // socket would stay until a push hit a reset, and this would time out.
    await listener.closed;
    for (let i = 0; i < 100 && (await tcpClients()) >= before; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(await tcpClients(), before - 1);
  });
});

/** Connected TCP clients, as /metrics reports them. */
async function tcpClients(): Promise<number> {
  const metrics = await (await fetch(`${server.baseUrl}/metrics`)).text();
  return Number(/^parley_connected_clients\{transport="tcp"\} (\d+)/m.exec(metrics)?.[1]);
}
