// The server process from start to stop: the banner, a clear refusal for each bad configuration,
// the PID file, graceful shutdown on SIGTERM/SIGINT with nothing acknowledged lost, and the events
// chat.log records along the way.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeFrame, MAGIC } from '../../server/journal-format.js';
import { JOURNAL_FILE } from '../../server/journal.js';
import { startRedis } from '../helpers/redis.js';
import { startServer } from '../helpers/server.js';
import { httpLogin, LineClient, pollUntil, readLogLines, runServer, within, type Frame } from './support.js';

function temporaryFolder(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'parley-lifecycle-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Flags for a server that should refuse to start, with its own folder for everything else. */
function ownFlags(dir: string, ...extra: string[]): string[] {
  return [
    '--host', '127.0.0.1',
    '--tcp-port', '0',
    '--http-port', '0',
    '--data-dir', join(dir, 'data'),
    '--log', join(dir, 'chat.log'),
    ...extra,
  ];
}

test('the banner names the addresses, the data folder and the workers', { timeout: 20_000 }, async (t) => {
  const server = await startServer({ args: ['--workers', '2'] });
  t.after(() => server.stop());
  const banner = server.output();
  assert.ok(banner.includes(`:${server.tcpPort}`), `TCP port ${server.tcpPort} in:\n${banner}`);
  assert.ok(banner.includes(`:${server.httpPort}`), `HTTP port ${server.httpPort} in:\n${banner}`);
  assert.ok(banner.includes(server.dataDir), `data folder in:\n${banner}`);
  assert.match(banner, /workers?\b/i);
});

test('writes its PID to the data folder and removes it on a clean exit', { timeout: 20_000 }, async (t) => {
  const server = await startServer({ keepData: true });
  t.after(() => rmSync(server.dataDir, { recursive: true, force: true }));
  const pidFile = join(server.dataDir, 'parley.pid');
  assert.equal(readFileSync(pidFile, 'utf8').trim(), String(server.pid));
  assert.equal(await server.stop(), 0);
  assert.ok(!existsSync(pidFile), 'parley.pid is left behind');
});

test('a port in use is refused with its number and exit code 1', { timeout: 20_000 }, async (t) => {
  const first = await startServer();
  t.after(() => first.stop());
  const dir = temporaryFolder(t);
  const result = await runServer(ownFlags(dir, '--tcp-port', String(first.tcpPort)));
  assert.equal(result.code, 1, result.stdout + result.stderr);
  assert.match(result.stderr, new RegExp(`^parley: .*port ${first.tcpPort}.*already in use`, 'm'));
  assert.doesNotMatch(result.stderr, /^\s+at /m, 'a sentence, not a stack trace');
});

test('a data folder that cannot be created is refused with exit code 1', { timeout: 20_000 }, async (t) => {
  const dir = temporaryFolder(t);
  const notAFolder = join(dir, 'plain-file');
  writeFileSync(notAFolder, 'not a folder\n');
  const dataDir = join(notAFolder, 'data');
  const result = await runServer([...ownFlags(dir), '--data-dir', dataDir]);
  assert.equal(result.code, 1, result.stdout + result.stderr);
  assert.match(result.stderr, /^parley: /m);
  assert.ok(result.stderr.includes(notAFolder), `the path in:\n${result.stderr}`);
  assert.doesNotMatch(result.stderr, /^\s+at /m, 'a sentence, not a stack trace');
});

test('a bad flag or value is refused with exit code 2 and a pointer to --help', { timeout: 20_000 }, async (t) => {
  const dir = temporaryFolder(t);
  for (const [flags, mention] of [
    [['--no-such-flag'], /no-such-flag/],
    [['--tcp-port', '70000'], /--tcp-port/],
    [['--workers', '-1'], /^parley: --workers needs a value, and "-1" looks like an option; write --workers=-1 to give it as the value\.$/],
    [['--workers=-1'], /--workers must be a whole number from 0 to 256, not "-1"/],
  ] as const) {
    const result = await runServer(ownFlags(dir, ...flags));
    assert.equal(result.code, 2, `${flags.join(' ')}: ${result.stdout}${result.stderr}`);
    assert.match(result.stderr, /^parley: /);
    assert.equal(result.stderr.trimEnd().split('\n').length, 1, `one line, not:\n${result.stderr}`);
    assert.doesNotMatch(result.stderr, /\.\./, 'a sentence ends with one period');
    assert.match(result.stderr.trimEnd(), mention);
    if (flags[0] === '--no-such-flag') assert.match(result.stderr, /--help/);
  }
});

test('SIGHUP while the journal is still being read back reopens the log instead of killing the start', { timeout: 30_000 }, async (t) => {
  const dataDir = temporaryFolder(t);
  // A journal long enough that replaying it keeps the server busy after parley.pid appears.
  const frames: Buffer[] = [MAGIC];
  for (let seq = 1; seq <= 30_000; seq++) {
    frames.push(encodeFrame({ kind: 'message', seq, user: 'old', text: `message ${seq} `.padEnd(100, '.'), timeMs: Date.now(), clientId: null, deletedAt: 0 }));
  }
  writeFileSync(join(dataDir, JOURNAL_FILE), Buffer.concat(frames));

  // clean.sh signals whatever parley.pid names, as soon as it exists.
  let signalled = 0;
  const watcher = watch(dataDir, (_event, name) => {
    if (name !== 'parley.pid' || signalled !== 0) return;
    const pid = Number.parseInt(readFileSync(join(dataDir, 'parley.pid'), 'utf8'), 10);
    process.kill(pid, 'SIGHUP');
    signalled = pid;
  });
  t.after(() => watcher.close());
  const server = await startServer({ dataDir });
  t.after(() => server.kill());
  assert.equal(signalled, server.pid, 'SIGHUP was sent to the server named in parley.pid');

  const kinds = readLogLines(server.logFile).map((line) => line.event);
  assert.ok(kinds.includes('log-reopened'), `no log-reopened line among ${JSON.stringify(kinds)}`);
  assert.ok(kinds.indexOf('log-reopened') < kinds.indexOf('start'), `the signal landed during the start: ${JSON.stringify(kinds)}`);
  assert.equal(await server.stop(), 0);
  assert.ok(!existsSync(join(dataDir, 'parley.pid')), 'no stale parley.pid is left');
});

test('SIGTERM says goodbye to TCP clients, ends SSE streams and exits 0 within seconds', { timeout: 30_000 }, async (t) => {
  const server = await startServer();
  t.after(() => server.kill());
  const tcp = await LineClient.connect(server.tcpPort);
  await tcp.login('tcpuser');

  const cookie = await httpLogin(server.baseUrl, 'sseuser');
  const events = await fetch(`${server.baseUrl}/api/events?last=0`, { headers: { cookie } });
  assert.equal(events.status, 200);
  assert.match(events.headers.get('content-type') ?? '', /^text\/event-stream/);
  const streamEnded = (async () => {
    const reader = events.body!.getReader();
    let text = '';
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done) return text;
      text += new TextDecoder().decode(value);
    }
  })();

  const started = Date.now();
  const code = await server.stop();
  const took = Date.now() - started;
  assert.equal(code, 0);
  assert.ok(took < 5000, `shutdown took ${took} ms`);

  await within(2000, tcp.closed, 'the TCP connection to close');
  const goodbye = tcp.frames.find((frame) => frame.event === 'goodbye');
  assert.ok(goodbye, `no goodbye frame among ${JSON.stringify(tcp.frames)}`);
  assert.equal(typeof goodbye.reason, 'string');
  assert.equal(tcp.frames.at(-1), goodbye, 'goodbye is the last frame');
  const sse = await within(2000, streamEnded, 'the SSE stream to end');
  assert.match(sse, /retry: \d+\nevent: goodbye\ndata: \{"reason":"[^"]+","retryAfter":\d+\}\n\n$/, `the stream's last event is goodbye:\n${sse}`);
});

test('a second SIGTERM during a shutdown that is still waiting exits at once with code 1', { timeout: 30_000 }, async (t) => {
  const server = await startServer();
  t.after(() => server.kill());
  // A request whose body is still to come keeps the graceful shutdown waiting (up to 3 s). Its
  // `100 Continue` says the server has taken it up.
  const slow = connect({ host: '127.0.0.1', port: server.httpPort });
  slow.on('error', () => {});
  t.after(() => slow.destroy());
  await new Promise((resolve) => slow.once('connect', resolve));
  slow.write(
    'POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
      `Origin: ${server.baseUrl}\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n`,
  );
  const continued = await within(2000, new Promise<Buffer>((resolve) => slow.once('data', resolve)), 'the 100 Continue');
  assert.match(continued.toString('latin1'), /^HTTP\/1\.1 100 Continue\r\n/);

  server.process.kill('SIGTERM');
  await pollUntil('the stopping line', () => readLogLines(server.logFile).some((line) => line.event === 'stopping'));
  const secondSent = Date.now();
  server.process.kill('SIGTERM');
  assert.equal(await within(2000, server.exited, 'the exit after the second signal'), 1);
  assert.ok(Date.now() - secondSent < 1000, 'the second signal did not wait for the shutdown');

  const kinds = readLogLines(server.logFile).map((line) => line.event);
  assert.deepEqual(kinds.slice(kinds.indexOf('stopping')), ['stopping', 'stop-forced'], 'no stop line after a forced exit');
});

test('SIGINT shuts down as gracefully as SIGTERM', { timeout: 20_000 }, async (t) => {
  const server = await startServer();
  t.after(() => server.kill());
  const tcp = await LineClient.connect(server.tcpPort);
  await tcp.login('alice');
  server.process.kill('SIGINT');
  assert.equal(await server.exited, 0);
  await tcp.closed;
  assert.ok(tcp.frames.some((frame) => frame.event === 'goodbye'));
});

test('messages acknowledged while SIGTERM arrives under load are all there after a restart', { timeout: 60_000 }, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-restart-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const first = await startServer({ dataDir });
  t.after(() => first.kill());

  const senders = await Promise.all(['ann', 'ben', 'cat'].map(async (name) => {
    const client = await LineClient.connect(first.tcpPort);
    await client.login(name);
    return client;
  }));
  const batch = randomUUID();
  const pending: Array<{ client: LineClient; id: number; text: string }> = [];
  for (let i = 0; i < 300; i++) {
    const client = senders[i % senders.length]!;
    const text = `${batch} #${i}`;
    pending.push({ client, id: client.send({ op: 'send', text }), text });
  }
  // Stop once some, not all, are acknowledged: the rest are in flight when the signal lands.
  await senders[0]!.reply(pending[30]!.id);
  assert.equal(await first.stop(), 0);
  await Promise.all(senders.map((client) => client.closed));

  const acknowledged = pending
    .map(({ client, id, text }) => ({ reply: client.frames.find((frame) => frame.id === id), text }))
    .filter(({ reply }) => reply?.ok === true)
    .map(({ text }) => text);
  assert.ok(acknowledged.length >= 31, `only ${acknowledged.length} acknowledged`);

  const second = await startServer({ dataDir });
  t.after(() => second.stop());
  const reader = await LineClient.connect(second.tcpPort);
  await reader.login('dan');
  const history = await reader.request({ op: 'history', limit: 1000 });
  assert.equal(history.ok, true, JSON.stringify(history));
  const stored = new Set((history.messages as Frame[]).map((message) => message.text));
  const lost = acknowledged.filter((text) => !stored.has(text));
  assert.deepEqual(lost, [], `${lost.length} of ${acknowledged.length} acknowledged messages lost`);
  await reader.close();
});

/** Checks the fields every chat.log line has, and returns the lines. */
function checkedLogLines(file: string): Frame[] {
  const lines = readLogLines(file);
  for (const line of lines) {
    assert.ok(typeof line.time === 'string' && !Number.isNaN(Date.parse(line.time)), `time in ${JSON.stringify(line)}`);
    assert.ok(['info', 'warn', 'error'].includes(line.level as string), `level in ${JSON.stringify(line)}`);
    assert.equal(typeof line.event, 'string');
  }
  return lines;
}

test('chat.log has a JSON line for start, connections, logins, logouts, streams, HTTP and stop, and no message text', { timeout: 30_000 }, async (t) => {
  const server = await startServer({ keepData: true });
  t.after(() => rmSync(server.dataDir, { recursive: true, force: true }));
  t.after(() => server.kill());

  const secret = `secret-${randomUUID()}`;
  const tcp = await LineClient.connect(server.tcpPort);
  await tcp.login('logged');
  const sent = await tcp.request({ op: 'send', text: secret });
  assert.equal(sent.ok, true, JSON.stringify(sent));
  assert.equal((await tcp.request({ op: 'logout' })).ok, true);
  await tcp.close();

  const cookie = await httpLogin(server.baseUrl, 'webber');
  const stream = new AbortController();
  const events = await fetch(`${server.baseUrl}/api/events?last=0`, { headers: { cookie }, signal: stream.signal });
  assert.equal(events.status, 200);
  stream.abort();
  const logout = await fetch(`${server.baseUrl}/api/login`, { method: 'DELETE', headers: { cookie, origin: server.baseUrl } });
  await logout.arrayBuffer();
  assert.ok(logout.ok, `logout answered ${logout.status}`);
  assert.equal(await server.stop(), 0);

  const text = readFileSync(server.logFile, 'utf8');
  assert.ok(!text.includes(secret), 'a message text reached chat.log');
  const lines = checkedLogLines(server.logFile);
  const kinds = lines.map((line) => line.event);
  for (const event of ['journal-replayed', 'start', 'tcp-connect', 'login', 'logout', 'tcp-disconnect', 'sse-connect', 'sse-disconnect', 'http', 'stopping', 'stop']) {
    assert.ok(kinds.includes(event), `no "${event}" line among ${JSON.stringify(kinds)}`);
  }
  assert.ok(kinds.indexOf('start') < kinds.indexOf('tcp-connect'), 'start comes before the first connection');
  assert.ok(kinds.lastIndexOf('stop') > kinds.lastIndexOf('http'), 'stop comes last');
  const sessions = lines.filter((line) => line.event === 'login' || line.event === 'logout').map((line) => `${line.event} ${line.transport} ${line.user}`);
  assert.deepEqual(sessions, ['login tcp logged', 'logout tcp logged', 'login http webber', 'logout http webber']);

  const access = lines.find((line) => line.event === 'http')!;
  assert.equal(access.status, 200, JSON.stringify(access));
  const duration = Object.entries(access).find(([key]) => /dur|ms$/i.test(key));
  assert.ok(duration && typeof duration[1] === 'number', `a duration in ${JSON.stringify(access)}`);
});

test('chat.log records a store that refuses a write as an error line with the stack, and the sender gets a 503', { timeout: 30_000 }, async (t) => {
  const redis = await startRedis({ appendfsync: 'off' });
  t.after(() => redis.stop());
  const server = await startServer({ args: ['--cluster', redis.url, '--workers', '0'] });
  t.after(() => server.stop());
  const cookie = await httpLogin(server.baseUrl, 'writer');

  // Redis at its memory limit refuses every write (maxmemory-policy noeviction, the default).
  const { createClient } = await import('redis');
  const admin = createClient({ url: redis.url });
  await admin.connect();
  await admin.configSet('maxmemory', '1');
  await admin.quit();

  const send = await fetch(`${server.baseUrl}/api/messages`, {
    method: 'POST',
    headers: { cookie, origin: server.baseUrl, 'content-type': 'application/json' },
    body: JSON.stringify({ text: 'this will not fit' }),
  });
  const body = (await send.json()) as Frame;
  assert.equal(send.status, 503, JSON.stringify(body));
  assert.equal(body.code, 'UNAVAILABLE');

  const failure = await pollUntil('an error line in chat.log', () => checkedLogLines(server.logFile).find((line) => line.level === 'error'));
  assert.equal(failure.event, 'redis-command-failed');
  const error = failure.error as { name: string; message: string; stack: string };
  assert.match(error.message, /OOM|maxmemory/);
  assert.match(error.stack, /\n\s+at /);
});

test('a cluster node shows its --node-name in the banner and in chat.log\'s start line', { timeout: 30_000 }, async (t) => {
  const redis = await startRedis({ appendfsync: 'off' });
  t.after(() => redis.stop());
  const server = await startServer({ args: ['--cluster', redis.url, '--workers', '0', '--node-name', 'east-1'] });
  t.after(() => server.stop());
  assert.match(server.output(), new RegExp(`Cluster +${redis.url.replaceAll('/', '\\/')} as node east-1\\n`));
  const start = await pollUntil('the start line', () => readLogLines(server.logFile).find((line) => line.event === 'start'));
  assert.equal(start.node, 'east-1');
  assert.equal(start.cluster, true);
});
