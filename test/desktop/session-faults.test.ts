// The reconnecting session (client/desktop/session.ts) against a real server when something goes
// wrong at a bad moment: a reply that is slow or lost, a connection that breaks as it is being
// prepared, a server that refuses for a while. A relay between the two (relay.ts) picks the moment.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Session } from '../../client/desktop/session.js';
import { JOURNAL_FILE } from '../../server/journal.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { RawClient } from '../helpers/tcp-client.js';
import { until } from '../helpers/until.js';
import { Relay, type RelayLink } from './relay.js';

interface WireFrame {
  id?: number | null;
  op?: string;
  ok?: boolean;
}

async function serveWithRelay(t: { after: (fn: () => Promise<unknown>) => void }): Promise<{ server: RunningServer; relay: Relay }> {
  const server = await startServer();
  t.after(() => server.stop());
  const relay = await Relay.start(server.tcpPort);
  t.after(() => relay.close());
  return { server, relay };
}

/** Notes the id of each request with operation `op`, so its reply can be told apart. */
function requestsOf(relay: Relay, op: string): Set<number> {
  const ids = new Set<number>();
  const before = relay.toServer;
  relay.toServer = (line, link) => {
    const frame = JSON.parse(line) as WireFrame;
    if (frame.op === op && typeof frame.id === 'number') ids.add(frame.id);
    return before(line, link);
  };
  return ids;
}

function isReplyTo(line: string, ids: Set<number>): boolean {
  const frame = JSON.parse(line) as WireFrame;
  return 'ok' in frame && typeof frame.id === 'number' && ids.has(frame.id);
}

function newSession(t: { after: (fn: () => void) => void }, port: number): Session {
  const session = new Session({ host: '127.0.0.1', port, username: 'alice', backoff: { initialMs: 100, maxMs: 100 } });
  t.after(() => session.close());
  return session;
}

test('close() while the session still waits for its first history page closes that connection at once', async (t) => {
  const { relay } = await serveWithRelay(t);
  // A server slow to answer history: the relay holds the reply back for good.
  const historyRequests = requestsOf(relay, 'history');
  let held: RelayLink | undefined;
  relay.toClient = (line, link) => {
    if (!isReplyTo(line, historyRequests)) return undefined;
    held = link;
    return null;
  };
  const session = newSession(t, relay.port);
  session.start();
  await until(async () => held !== undefined, 'the history reply held back');
  const closed = once(held!.client, 'close');
  session.close();
  let isClosed = false;
  void closed.then(() => (isClosed = true));
  await until(async () => isClosed, "the client's socket closed, not left open and subscribed", 3_000);
  assert.equal(session.state.kind, 'closed');
});

test('a connection that breaks in the same chunk as the last reply of its preparation is replaced by a new one', async (t) => {
  const { relay } = await serveWithRelay(t);
  const subscribes = requestsOf(relay, 'subscribe');
  relay.toClient = (line) => {
    // Only the first connection: its subscribe reply and a broken line in one write.
    if (relay.accepted === 1 && isReplyTo(line, subscribes)) return `${line}\nnot json\n`;
    return undefined;
  };
  const session = newSession(t, relay.port);
  session.start();
  await until(async () => relay.accepted === 2 && session.state.kind === 'online', 'online again on a second connection');
  // And it works: a message sent now comes back through the new subscription.
  const seen: string[] = [];
  session.on('message', (message) => seen.push(message.text));
  const sent = await session.send('after the broken line');
  assert.equal(sent.duplicate, false);
  await until(async () => seen.includes('after the broken line'), 'the message pushed back to the session');
});

test('a send refused with UNAVAILABLE waits out retryAfter on the same connection and is then stored once', async (t) => {
  // The server logs to stdout: a log file would be refused by the same file size limit.
  const server = await startServer({ args: ['--log', '-', '--workers', '0'] });
  t.after(() => server.stop());
  const relay = await Relay.start(server.tcpPort);
  t.after(() => relay.close());
  const sends = requestsOf(relay, 'send');
  const refusals: string[] = [];
  relay.toClient = (line) => {
    const frame = JSON.parse(line) as WireFrame & { error?: { code: string } };
    if (isReplyTo(line, sends) && frame.error) refusals.push(frame.error.code);
    return undefined;
  };
  const session = newSession(t, relay.port);
  const problems: string[] = [];
  session.on('problem', (error) => problems.push(`${error.code}: ${error.message}`));
  session.start();
  await until(async () => session.state.kind === 'online', 'the session online');
  const bob = await RawClient.connect(server.tcpPort);
  t.after(() => bob.close());
  await bob.login('bob');

  // The disk refuses the journal from now on (see test/server/disk-refusal.test.ts). Bob's send
  // is the one in flight when it fails; the server refuses new sends after that.
  const journalBytes = statSync(join(server.dataDir, JOURNAL_FILE)).size;
  execFileSync('prlimit', ['--pid', String(server.pid), `--fsize=${journalBytes}:`]);
  const inFlight = bob.request('send', { text: 'in flight as the disk filled' });
  await until(async () => server.output().includes('"event":"journal-append-failed"'), 'the failed append in the log');
  const sent = session.send('typed while the disk is full');
  await until(async () => refusals.length > 0, 'the refusal of the first try');
  assert.deepEqual(refusals, ['UNAVAILABLE']);
  assert.deepEqual(
    session.queued.map((item) => item.text),
    ['typed while the disk is full'],
    'still queued, to go again with the same clientId',
  );

  execFileSync('prlimit', ['--pid', String(server.pid), '--fsize=unlimited:']);
  assert.equal((await inFlight).ok, true);
  const stored = await sent;
  assert.equal(stored.duplicate, false, 'the refused try stored nothing');
  assert.equal(sends.size, 2, 'one refused try, one after the wait');
  assert.equal(relay.accepted, 1, 'the connection was kept, not closed and reopened');
  assert.equal(session.state.kind, 'online');
  const history = await bob.request('history', {});
  assert.deepEqual(
    history.messages.map((message: { text: string }) => message.text),
    ['in flight as the disk filled', 'typed while the disk is full'],
  );
  assert.match(problems[0] ?? '', /^UNAVAILABLE: the server cannot save to disk right now; .* \(sending again in [5-8]s\)$/);
});

test("a server at its connection limit is asked again only after its retryAfter (30 s), not the session's short backoff", async (t) => {
  const server = await startServer({ args: ['--max-clients', '1'] });
  t.after(() => server.stop());
  const occupant = await RawClient.connect(server.tcpPort);
  t.after(() => occupant.close());
  const session = newSession(t, server.tcpPort);
  const startedAt = Date.now();
  session.start();
  await until(async () => session.state.kind === 'offline', 'the refusal');
  const state = session.state;
  assert.ok(state.kind === 'offline');
  assert.equal(state.error.code, 'TOO_MANY_CONNECTIONS');
  const wait = state.retryAt - startedAt;
  assert.ok(wait >= 30_000 && wait <= 45_000 + 1_000, `waits ${wait} ms: retryAfter 30 s plus up to half again`);
});

test('a send whose reply is lost with the connection is sent again with the same clientId and stored once', async (t) => {
  const { server, relay } = await serveWithRelay(t);
  const sends = requestsOf(relay, 'send');
  const clientIds: string[] = [];
  const noteClientId = relay.toServer;
  relay.toServer = (line, link) => {
    const frame = JSON.parse(line) as WireFrame & { clientId?: string };
    if (frame.op === 'send' && frame.clientId) clientIds.push(frame.clientId);
    return noteClientId(line, link);
  };
  // The server stores the first send and answers; the answer never arrives, the connection breaks.
  relay.toClient = (line, link) => {
    if (relay.accepted !== 1 || !isReplyTo(line, sends)) return undefined;
    link.cut();
    return null;
  };
  const session = newSession(t, relay.port);
  session.start();
  await until(async () => session.state.kind === 'online', 'the session online');
  const sent = await session.send('said once');
  assert.equal(sent.duplicate, true, "the server's answer to the second try: the message it already had");
  assert.equal(relay.accepted, 2);
  assert.equal(clientIds.length, 2);
  assert.equal(clientIds[0], clientIds[1], 'both tries carry the same clientId');

  const reader = await RawClient.connect(server.tcpPort);
  t.after(() => reader.close());
  await reader.login('bob');
  const history = await reader.request('history', {});
  assert.deepEqual(history.messages, [sent.message], 'stored once');
});
