// The index of logged-in connections (server/tcp/session-connections.ts), looked at through a
// real TCP edge in this process: nothing outside the server shows whether a closed connection
// is still in it, yet one left there is memory that is never given back.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ClientCounts } from '../../server/ops/client-counts.js';
import { openLogger } from '../../server/ops/logger.js';
import { LocalChat } from '../../server/store/local-chat.js';
import { SessionConnections } from '../../server/tcp/session-connections.js';
import { createTcpEdge } from '../../server/tcp/tcp-server.js';
import { RawClient } from '../helpers/tcp-client.js';
import { until } from '../helpers/until.js';

test('a login that finishes after its client hung up does not keep the closed connection in the session index', async (t) => {
  // A data folder, so each login waits for its fsync and finishes well after the hang-up.
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-test-'));
  const chat = await LocalChat.open({ dataDir, capacity: 1000, arenaBytes: 1024 * 1024, workers: 0, rateLimit: 0 });
  const clients = new ClientCounts();
  const sessions = new SessionConnections();
  const edge = createTcpEdge({ chat, logger: openLogger(null), metrics: null, clients, maxClients: 1000, frameTimeoutMs: 30_000, sessions });
  await new Promise<void>((resolve) => edge.server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    await edge.shutdown('the test is over', 1);
    await chat.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const port = (edge.server.address() as AddressInfo).port;

  const quitters = await Promise.all(Array.from({ length: 50 }, () => RawClient.connect(port)));
  quitters.forEach((quitter, i) => quitter.sendRaw(`${JSON.stringify({ id: 1, op: 'login', username: `quitter${i}` })}\n`));
  // Logins are written to disk one after another: once the first is answered, the others are
  // read and still waiting. Their clients give up now, with a reset (a FIN alone would only
  // half-close: the server answers what was sent before it closes).
  await quitters[0]!.next((f) => f.id === 1);
  for (const quitter of quitters) quitter.socket.resetAndDestroy();
  await until(() => clients.get('tcp') === 0, 'the server has seen every hang-up');
  // Logins are written one after another, so this one finishes after all of theirs.
  const stayer = await RawClient.connect(port);
  await stayer.login('stayer');
  assert.equal(sessions.size, 1, 'only the connection still open is indexed');
  stayer.close();
});
