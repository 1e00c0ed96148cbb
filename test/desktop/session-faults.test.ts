// The reconnecting session (client/desktop/session.ts) against a real server when something goes
// wrong at a bad moment: a reply that is slow or lost, a connection that breaks as it is being
// prepared, a server that refuses for a while. A relay between the two (relay.ts) picks the moment.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { Session } from '../../client/desktop/session.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { until } from '../http/support.js';
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
