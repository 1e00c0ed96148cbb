// The protocol client (client/desktop/connection.ts) and the reconnecting session
// (session.ts) against a real server process: every operation, errors with their codes, the
// subscribe replay, and a restart in the middle of a session.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ChatMessage } from '../../protocol/message.js';
import { Connection, type ChangePush } from '../../client/desktop/connection.js';
import { ParleyError } from '../../client/desktop/errors.js';
import { Session, type ResetReason, type SessionState } from '../../client/desktop/session.js';
import { backoffDelay, retryAfterDelay } from '../../protocol/backoff.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { RawClient } from '../helpers/tcp-client.js';
import { closedPort } from '../helpers/closed-port.js';
import { Relay } from './relay.js';

async function serve(t: { after: (fn: () => Promise<unknown>) => void }): Promise<RunningServer> {
  const server = await startServer();
  t.after(() => server.stop());
  return server;
}

async function loggedIn(server: RunningServer, username: string): Promise<Connection> {
  const connection = await Connection.open({ host: '127.0.0.1', port: server.tcpPort });
  await connection.request('login', { username });
  return connection;
}

/** Resolves with the rejection; fails the test if the promise resolves. */
async function rejection(promise: Promise<unknown>): Promise<ParleyError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ParleyError, `expected a ParleyError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a rejection');
}

/** Collects `count` change pushes from a connection. */
function nextChanges(connection: Connection, count: number): Promise<ChangePush[]> {
  return new Promise((resolve) => {
    const seen: ChangePush[] = [];
    const onChange = (push: ChangePush) => {
      seen.push(push);
      if (seen.length < count) return;
      connection.off('change', onChange);
      resolve(seen);
    };
    connection.on('change', onChange);
  });
}

test('open waits for the hello and ping answers with the server time', async (t) => {
  const server = await serve(t);
  const connection = await Connection.open({ host: '127.0.0.1', port: server.tcpPort });
  t.after(() => connection.close());
  assert.equal(connection.hello.server, 'parley');
  assert.equal(connection.hello.protocol, 1);
  const { time } = await connection.request('ping', {});
  assert.ok(Math.abs(Date.parse(time) - Date.now()) < 60_000, `server time ${time}`);
});

test('login, send, history and delete round-trip with typed replies', async (t) => {
  const server = await serve(t);
  const connection = await loggedIn(server, ' alice ');
  t.after(() => connection.close());

  const first = await connection.request('send', { text: 'hello 世界 👋', clientId: 'c-1' });
  assert.equal(first.duplicate, false);
  assert.equal(first.message.user, 'alice');
  assert.equal(first.message.text, 'hello 世界 👋');
  const second = await connection.request('send', { text: 'second', clientId: 'c-2' });
  assert.ok(second.message.id > first.message.id);

  const newest = await connection.request('history', {});
  assert.deepEqual(newest.messages, [first.message, second.message]);
  assert.equal(newest.last, second.message.id);

  const older = await connection.request('history', { before: second.message.id, limit: 10 });
  assert.deepEqual(older.messages, [first.message]);

  const { cursor } = await connection.request('delete', { messageId: first.message.id });
  assert.ok(cursor > second.message.id, 'a deletion gets its own, newer cursor');
  const changes = await connection.request('history', { last: second.message.id });
  assert.deepEqual(changes.messages, []);
  assert.deepEqual(changes.deleted, [first.message.id]);
  assert.equal(changes.last, cursor);
});

test('a resend with the same clientId returns the first message, marked duplicate', async (t) => {
  const server = await serve(t);
  const connection = await loggedIn(server, 'alice');
  t.after(() => connection.close());
  const first = await connection.request('send', { text: 'only once', clientId: 'same-id' });
  const again = await connection.request('send', { text: 'only once', clientId: 'same-id' });
  assert.equal(again.duplicate, true);
  assert.deepEqual(again.message, first.message);
  const { messages } = await connection.request('history', {});
  assert.equal(messages.length, 1);
});

test("error replies reject with the server's code and message", async (t) => {
  const server = await serve(t);
  const anonymous = await Connection.open({ host: '127.0.0.1', port: server.tcpPort });
  t.after(() => anonymous.close());
  const alice = await loggedIn(server, 'alice');
  t.after(() => alice.close());
  const bob = await loggedIn(server, 'bob');
  t.after(() => bob.close());

  const notLoggedIn = await rejection(anonymous.request('send', { text: 'hi' }));
  assert.equal(notLoggedIn.code, 'NOT_LOGGED_IN');
  assert.match(notLoggedIn.message, /log in/);

  const badName = await rejection(anonymous.request('login', { username: 'a\u202eb' }));
  assert.equal(badName.code, 'INVALID_USERNAME');
  assert.match(badName.message, /U\+202E/);

  const tooLong = await rejection(alice.request('send', { text: 'x'.repeat(4001) }));
  assert.equal(tooLong.code, 'TEXT_TOO_LONG');
  assert.match(tooLong.message, /4001/);
  assert.match(tooLong.message, /4000/);

  const { message } = await alice.request('send', { text: "alice's" });
  const forbidden = await rejection(bob.request('delete', { messageId: message.id }));
  assert.equal(forbidden.code, 'FORBIDDEN');
  const missing = await rejection(alice.request('delete', { messageId: message.id + 1000 }));
  assert.equal(missing.code, 'NOT_FOUND');
});

test('resume takes a session to a new connection; after logout it answers NOT_LOGGED_IN', async (t) => {
  const server = await serve(t);
  const first = await Connection.open({ host: '127.0.0.1', port: server.tcpPort });
  const { token } = await first.request('login', { username: 'alice' });
  first.close();

  const second = await Connection.open({ host: '127.0.0.1', port: server.tcpPort });
  t.after(() => second.close());
  assert.deepEqual(await second.request('resume', { token }), { username: 'alice', token });
  const { message } = await second.request('send', { text: 'resumed' });
  assert.equal(message.user, 'alice');
  await second.request('logout', {});

  const third = await Connection.open({ host: '127.0.0.1', port: server.tcpPort });
  t.after(() => third.close());
  const ended = await rejection(third.request('resume', { token }));
  assert.equal(ended.code, 'NOT_LOGGED_IN');
});

test('subscribe replays what came after a cursor before its reply, then pushes live changes', async (t) => {
  const server = await serve(t);
  const writer = await loggedIn(server, 'writer');
  t.after(() => writer.close());
  const reader = await loggedIn(server, 'reader');
  t.after(() => reader.close());

  const m1 = (await writer.request('send', { text: 'one' })).message;
  const m2 = (await writer.request('send', { text: 'two' })).message;
  const m3 = (await writer.request('send', { text: 'three, gone before anyone saw it' })).message;
  await writer.request('delete', { messageId: m3.id });
  const { cursor: deletedAt } = await writer.request('delete', { messageId: m1.id });

  const replayed: ChangePush[] = [];
  reader.on('change', (push) => replayed.push(push));
  const reply = await reader.request('subscribe', { last: m1.id });
  // Both pushes were emitted before the reply resolved: that order is what makes a resume
  // gapless. m3 came and went after the cursor, so the server leaves it out altogether.
  assert.deepEqual(replayed, [
    { event: 'message', cursor: m2.id, message: m2 },
    { event: 'delete', cursor: deletedAt, id: m1.id },
  ]);
  assert.deepEqual(reply, { last: deletedAt, missed: false });

  const live = nextChanges(reader, 1);
  const m4 = (await writer.request('send', { text: 'four' })).message;
  assert.deepEqual(await live, [{ event: 'message', cursor: m4.id, message: m4 }]);
});

test('after unsubscribe no change arrives before the reply to a later ping', async (t) => {
  const server = await serve(t);
  const writer = await loggedIn(server, 'writer');
  t.after(() => writer.close());
  const reader = await loggedIn(server, 'reader');
  t.after(() => reader.close());
  await reader.request('subscribe', {});
  await reader.request('unsubscribe', {});
  const pushes: ChangePush[] = [];
  reader.on('change', (push) => pushes.push(push));
  await writer.request('send', { text: 'nobody listens' });
  // The server handles one connection's frames in order: once this ping is answered, any
  // push for the message above would have come first.
  await reader.request('ping', {});
  assert.deepEqual(pushes, []);
});

test('open rejects with UNREACHABLE and a readable reason when nothing listens', async () => {
  const port = await closedPort();
  const error = await rejection(Connection.open({ host: '127.0.0.1', port }));
  assert.equal(error.code, 'UNREACHABLE');
  assert.equal(error.message, `cannot reach 127.0.0.1:${port}: connection refused (is the server running?)`);
});

// The two peers below stand in for the outside world going wrong, not for Parley.
test('open rejects with BAD_FRAME when the peer is not a Parley server', async (t) => {
  const impostor = createServer((socket) => socket.end('SSH-2.0-OpenSSH_9.6\r\n'));
  impostor.listen(0, '127.0.0.1');
  await once(impostor, 'listening');
  t.after(() => impostor.close());
  const { port } = impostor.address() as { port: number };
  const error = await rejection(Connection.open({ host: '127.0.0.1', port }));
  assert.equal(error.code, 'BAD_FRAME');
  assert.equal(error.message, `127.0.0.1:${port} does not look like a Parley server`);
});

test('a request the server never answers rejects with TIMEOUT', async (t) => {
  const silent = createServer((socket) => socket.write('{"event":"hello","server":"parley","protocol":1,"limits":{}}\n'));
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  t.after(() => silent.close());
  const { port } = silent.address() as { port: number };
  const connection = await Connection.open({ host: '127.0.0.1', port });
  t.after(() => connection.close());
  const error = await rejection(connection.request('ping', {}, { timeoutMs: 50 }));
  assert.equal(error.code, 'TIMEOUT');
  assert.equal(error.message, 'the server did not answer "ping" within 0.05s');
});

test('requests waiting when the server goes away reject with DISCONNECTED', async (t) => {
  const server = await startServer();
  t.after(() => server.kill());
  const connection = await loggedIn(server, 'alice');
  const closed = once(connection, 'close');
  await server.kill();
  const [reason] = (await closed) as [ParleyError | undefined];
  assert.ok(reason);
  assert.equal(reason.code, 'DISCONNECTED');
  const error = await rejection(connection.request('ping', {}));
  assert.equal(error.code, 'DISCONNECTED');
});

test('backoff grows exponentially to its cap, with half of each wait random', () => {
  const options = { initialMs: 100, maxMs: 1000 };
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, options, () => 0)), [50, 100, 200, 400, 500, 500]);
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, options, () => 0.999999)), [100, 200, 400, 800, 1000, 1000]);
});

test("a server's retryAfter is waited at least in full, and up to half again, at random", () => {
  assert.equal(retryAfterDelay(5, () => 0), 5_000);
  assert.equal(retryAfterDelay(5, () => 0.5), 6_250);
  assert.equal(retryAfterDelay(5, () => 0.999999), 7_500);
});

/** Everything a session passes on, in order, as the ids a screen would show. */
function record(session: Session): {
  shown: () => number[];
  messages: () => ChatMessage[];
  states: SessionState['kind'][];
  resets: ResetReason[];
} {
  const shown = new Map<number, ChatMessage>();
  const received: number[] = [];
  const states: SessionState['kind'][] = [];
  const resets: ResetReason[] = [];
  session.on('reset', (messages, reason) => {
    resets.push(reason);
    shown.clear();
    for (const message of messages) shown.set(message.id, message);
  });
  session.on('message', (message) => {
    received.push(message.id);
    assert.ok(!shown.has(message.id), `message ${message.id} was passed on twice`);
    shown.set(message.id, message);
  });
  session.on('delete', (id) => shown.delete(id));
  session.on('state', (state) => states.push(state.kind));
  return { shown: () => [...shown.keys()], messages: () => [...shown.values()], states, resets };
}

function until(session: Session, test: () => boolean): Promise<void> {
  if (test()) return Promise.resolve();
  return new Promise((resolve) => {
    const check = () => {
      if (!test()) return;
      for (const event of ['message', 'delete', 'reset', 'state', 'queue'] as const) session.off(event, check);
      resolve();
    };
    for (const event of ['message', 'delete', 'reset', 'state', 'queue'] as const) session.on(event, check);
  });
}

test('a session loads the newest page, then follows live messages and deletions', async (t) => {
  const server = await serve(t);
  const writer = await loggedIn(server, 'writer');
  t.after(() => writer.close());
  const early = (await writer.request('send', { text: 'before the session' })).message;

  const session = new Session({ host: '127.0.0.1', port: server.tcpPort, username: 'reader' });
  t.after(() => session.close());
  const seen = record(session);
  session.start();
  await until(session, () => session.state.kind === 'online');
  assert.deepEqual(seen.shown(), [early.id]);
  assert.equal(session.username, 'reader');
  assert.equal(session.isLoggedIn, true);

  const later = (await writer.request('send', { text: 'after' })).message;
  await until(session, () => seen.shown().includes(later.id));
  await writer.request('delete', { messageId: early.id });
  await until(session, () => !seen.shown().includes(early.id));
  assert.deepEqual(seen.shown(), [later.id]);

  const sent = await session.send('from the session');
  assert.equal(sent.message.user, 'reader');
  assert.equal(sent.duplicate, false);
});

test('a session survives a server restart: resumes, replays without gap or duplicate, sends the offline queue once', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-desktop-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  let server = await startServer({ dataDir, keepData: true });
  t.after(() => server.stop());
  const port = server.tcpPort;
  // The session goes through a relay, so the test decides when it can get back in.
  const relay = await Relay.start(port);
  t.after(() => relay.close());

  const session = new Session({
    host: '127.0.0.1',
    port: relay.port,
    username: 'alice',
    backoff: { initialMs: 400, maxMs: 400 },
  });
  t.after(() => session.close());
  const seen = record(session);
  session.start();
  await until(session, () => session.state.kind === 'online');
  const before = await session.send('before the restart');

  await server.stop();
  await until(session, () => session.state.kind === 'offline');
  const queued = [session.send('typed offline 1'), session.send('typed offline 2')];
  assert.deepEqual(
    session.queued.map((item) => item.text),
    ['typed offline 1', 'typed offline 2'],
  );

  relay.isAccepting = false;
  server = await startServer({ dataDir, keepData: true, args: ['--tcp-port', String(port)] });
  // Someone else writes before the session is let back in: the session has to get this from
  // the replay after its cursor.
  const bob = await loggedIn(server, 'bob');
  t.after(() => bob.close());
  const fromBob = (await bob.request('send', { text: 'while alice was away' })).message;
  relay.isAccepting = true;

  const [first, second] = await Promise.all(queued);
  assert.equal(first!.message.user, 'alice', 'the login was resumed with its token');
  assert.ok(first!.message.id < second!.message.id, 'queued messages keep their order');
  await until(session, () => seen.shown().includes(second!.message.id) && seen.shown().includes(fromBob.id));

  const { messages } = await bob.request('history', {});
  assert.deepEqual(
    messages.map((message) => message.text),
    ['before the restart', 'while alice was away', 'typed offline 1', 'typed offline 2'],
  );
  assert.deepEqual(seen.shown(), messages.map((message) => message.id), 'the session shows exactly what the server has');
  assert.ok(seen.shown().includes(before.message.id));
  assert.deepEqual(session.queued, []);
  assert.ok(seen.states.includes('offline') && seen.states.at(-1) === 'online');
});

test('a session whose name is refused reports it and stops trying that name', async (t) => {
  const server = await serve(t);
  const session = new Session({ host: '127.0.0.1', port: server.tcpPort, username: 'x'.repeat(40) });
  t.after(() => session.close());
  const problems: ParleyError[] = [];
  session.on('problem', (error) => problems.push(error));
  session.start();
  await until(session, () => session.state.kind === 'online');
  assert.equal(session.isLoggedIn, false);
  assert.equal(session.username, undefined);
  assert.equal(problems[0]?.code, 'INVALID_USERNAME');
  assert.match(problems[0]!.message, /40 characters; the limit is 32/);
  const refusedSend = await rejection(session.send('hello'));
  assert.equal(refusedSend.code, 'NOT_LOGGED_IN');

  assert.equal(await session.login('alice'), 'alice');
  assert.equal(session.isLoggedIn, true);
});

test("a session whose server's history starts over (a --memory restart) shows the new history and keeps its queued sends", async (t) => {
  let server = await startServer({ args: ['--memory'] });
  t.after(() => server.stop());
  const port = server.tcpPort;
  const session = new Session({ host: '127.0.0.1', port, username: 'alice', backoff: { initialMs: 200, maxMs: 200 } });
  t.after(() => session.close());
  const seen = record(session);
  session.start();
  await until(session, () => session.state.kind === 'online');
  const bob = await loggedIn(server, 'bob');
  for (let i = 1; i <= 5; i++) await bob.request('send', { text: `old ${i}` });
  await until(session, () => seen.shown().length === 5);
  assert.equal(session.last, 5);

  await server.stop();
  await until(session, () => session.state.kind === 'offline');
  const queued = session.send('typed while the server was down');

  // The new server counts from 1 again: every id below is one the session has seen before.
  server = await startServer({ args: ['--memory', '--tcp-port', String(port)] });
  const carol = await loggedIn(server, 'carol');
  t.after(() => carol.close());
  await carol.request('send', { text: 'new A' });
  const sent = await queued;
  await until(session, () => seen.resets.includes('restarted') && seen.shown().includes(sent.message.id));
  const later = (await carol.request('send', { text: 'new C' })).message;
  assert.ok(later.id < 5, `id ${later.id} is below the old cursor`);
  await until(session, () => seen.shown().includes(later.id));

  const { messages } = await carol.request('history', {});
  assert.deepEqual(seen.messages(), messages, 'the session shows exactly the new history, none of the old');
  assert.deepEqual(messages.map((message) => message.text).sort(), ['new A', 'new C', 'typed while the server was down']);
  assert.equal(session.last, later.id);
  assert.deepEqual(session.queued, []);
});

test('open fails at once with a hint when pointed at the HTTP port', async (t) => {
  const server = await serve(t);
  const error = await rejection(Connection.open({ host: '127.0.0.1', port: server.httpPort }));
  assert.equal(error.code, 'BAD_FRAME');
  assert.equal(
    error.message,
    `127.0.0.1:${server.httpPort} answers in HTTP, not in Parley's chat protocol; use the server's TCP port (8783 by default)`,
  );
});

test('login() while the server is down keeps the name and logs in once it is up; sends made meanwhile go out under it', async (t) => {
  const port = await closedPort();

  const session = new Session({ host: '127.0.0.1', port, backoff: { initialMs: 100, maxMs: 100 } });
  t.after(() => session.close());
  session.start();
  await until(session, () => session.state.kind === 'offline');
  const login = session.login('alice');
  assert.equal(session.username, 'alice');
  assert.equal(session.isLoggedIn, false);
  const sent = session.send('written before the server was up');

  const server = await startServer({ args: ['--tcp-port', String(port)] });
  t.after(() => server.stop());
  assert.equal(await login, 'alice');
  assert.equal(session.isLoggedIn, true);
  assert.equal((await sent).message.user, 'alice');
});

test('a session-ended push logs the session out but keeps the connection; a new login() follows the chat again', async (t) => {
  const server = await serve(t);
  // The client reaches the server through a relay that notes the token of the login reply, so
  // the test can end that session from another connection.
  let token: string | undefined;
  const relay = await Relay.start(server.tcpPort);
  t.after(() => relay.close());
  relay.toClient = (line) => {
    token ??= (JSON.parse(line) as { token?: string }).token;
    return undefined;
  };
  const { port } = relay;

  const session = new Session({ host: '127.0.0.1', port, username: 'alice' });
  t.after(() => session.close());
  const identities: (string | undefined)[] = [];
  session.on('identity', (name) => identities.push(name));
  session.start();
  await until(session, () => session.isLoggedIn);
  assert.ok(token, 'the relay saw the login reply');

  // Another connection with the same token (another window of the same user) logs out.
  const other = await RawClient.connect(server.tcpPort);
  t.after(() => other.close());
  assert.equal((await other.request('resume', { token })).ok, true);
  const loggedOut = once(session, 'problem') as Promise<[ParleyError]>;
  assert.equal((await other.request('logout')).ok, true);
  const [problem] = await loggedOut;
  assert.equal(problem.code, 'NOT_LOGGED_IN');
  assert.match(problem.message, /^logged out: you were logged out/);
  assert.deepEqual(identities, ['alice', undefined]);
  assert.equal(session.isLoggedIn, false);
  assert.equal(session.username, undefined, 'the name is not used again on its own: that would undo the logout');
  assert.equal(session.state.kind, 'online', 'the connection stays');
  const refused = await rejection(session.send('after the logout'));
  assert.equal(refused.code, 'NOT_LOGGED_IN');

  assert.equal(await session.login('alice'), 'alice');
  assert.equal(session.isLoggedIn, true);
  const sent = await session.send('back again');
  assert.equal(sent.message.user, 'alice');
});
