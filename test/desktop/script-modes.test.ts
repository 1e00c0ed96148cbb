// The script modes as a shell sees them: the real parley-desktop process, its stdout lines,
// stderr and exit status, against a real server.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { Connection } from '../../client/desktop/connection.js';
import type { ChatMessage } from '../../protocol/message.js';
import { ROOT, startServer, type RunningServer } from '../helpers/server.js';
import { closedPort } from '../helpers/closed-port.js';

const CLIENT_MAIN = join(ROOT, 'dist/client/desktop/main.js');

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

function start(args: string[]): ChildProcess {
  return spawn(process.execPath, [CLIENT_MAIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
}

async function run(args: string[]): Promise<Finished> {
  const child = start(args);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

function jsonLines(text: string): unknown[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as unknown);
}

async function serve(t: { after: (fn: () => Promise<unknown>) => void }): Promise<RunningServer> {
  const server = await startServer();
  t.after(() => server.stop());
  return server;
}

function target(server: RunningServer): string[] {
  return ['--host', '127.0.0.1', '--port', String(server.tcpPort)];
}

async function writer(t: { after: (fn: () => void) => void }, server: RunningServer, username: string): Promise<Connection> {
  const connection = await Connection.open({ host: '127.0.0.1', port: server.tcpPort });
  t.after(() => connection.close());
  await connection.request('login', { username });
  return connection;
}

test('--send sends once, prints the stored message and exits 0', async (t) => {
  const server = await serve(t);
  const result = await run([...target(server), '--user', 'alice', '--send', 'hello 世界 👋']);
  assert.equal(result.stderr, '');
  assert.equal(result.code, 0);
  const [printed] = jsonLines(result.stdout) as ChatMessage[];
  assert.equal(printed!.user, 'alice');
  assert.equal(printed!.text, 'hello 世界 👋');

  const reader = await writer(t, server, 'reader');
  const { messages } = await reader.request('history', {});
  assert.deepEqual(messages, [printed]);
});

test('--send of a text over the limit exits 1 with the reason on stderr', async (t) => {
  const server = await serve(t);
  const result = await run([...target(server), '--user', 'alice', '--send', 'x'.repeat(4001)]);
  assert.equal(result.code, 1);
  assert.equal(result.stdout, '');
  assert.match(result.stderr, /^parley-desktop: .*4001.*4000/);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
});

test('--history N prints the newest N messages as JSON lines, oldest first', async (t) => {
  const server = await serve(t);
  const alice = await writer(t, server, 'alice');
  const sent: ChatMessage[] = [];
  for (const text of ['one', 'two', 'three', 'four']) sent.push((await alice.request('send', { text })).message);

  const result = await run([...target(server), '--user', 'reader', '--history', '3']);
  assert.equal(result.stderr, '');
  assert.equal(result.code, 0);
  assert.deepEqual(jsonLines(result.stdout), sent.slice(1));
});

test('--tail prints each message and deletion as it arrives and exits 0 on SIGTERM', async (t) => {
  const server = await serve(t);
  const alice = await writer(t, server, 'alice');
  const old = (await alice.request('send', { text: 'already there' })).message;

  const child = start([...target(server), '--user', 'reader', '--tail', '--history', '1']);
  t.after(() => child.kill('SIGKILL'));
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => JSON.parse((await lines.next()).value as string) as unknown;

  assert.deepEqual(await next(), { event: 'message', cursor: old.id, message: old });
  // The backlog line proves the tail is subscribed, so what follows is live.
  const live = (await alice.request('send', { text: 'live' })).message;
  assert.deepEqual(await next(), { event: 'message', cursor: live.id, message: live });
  const { cursor } = await alice.request('delete', { messageId: old.id });
  assert.deepEqual(await next(), { event: 'delete', cursor, id: old.id });

  child.kill('SIGTERM');
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0);
});

test("--tail follows a server whose history starts over and prints only what is new, once", async (t) => {
  let server = await startServer({ args: ['--memory'] });
  t.after(() => server.stop());
  const port = server.tcpPort;
  const alice = await writer(t, server, 'alice');
  const old = (await alice.request('send', { text: 'from the old history' })).message;

  const child = start(['--host', '127.0.0.1', '--port', String(port), '--user', 'reader', '--tail', '--history', '5']);
  t.after(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => JSON.parse((await lines.next()).value as string) as unknown;
  assert.deepEqual(await next(), { event: 'message', cursor: old.id, message: old });

  await server.stop();
  server = await startServer({ args: ['--memory', '--tcp-port', String(port)] });
  const bob = await writer(t, server, 'bob');
  const first = (await bob.request('send', { text: 'first of the new history' })).message;
  assert.equal(first.id, old.id, 'the new history reuses the id');
  assert.deepEqual(await next(), { event: 'message', cursor: first.id, message: first });
  const second = (await bob.request('send', { text: 'second' })).message;
  assert.deepEqual(await next(), { event: 'message', cursor: second.id, message: second }, 'nothing printed twice in between');
  assert.match(stderr, /the server's history started over; following the new one/);

  child.kill('SIGTERM');
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0);
});

test('an unreachable server is a clear error and exit status 1 in every mode', async () => {
  const port = await closedPort();
  const where = ['--host', '127.0.0.1', '--port', String(port), '--user', 'alice'];
  for (const mode of [['--send', 'hi'], ['--history', '5'], ['--tail']]) {
    const result = await run([...where, ...mode]);
    assert.equal(result.code, 1, `${mode[0]}: ${result.stderr}`);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr, `parley-desktop: cannot reach 127.0.0.1:${port}: connection refused (is the server running?)\n`);
  }
});

test('an unknown host is named in the error', async () => {
  const result = await run(['--host', 'no-such-host.invalid', '--user', 'alice', '--history', '1']);
  assert.equal(result.code, 1);
  assert.equal(result.stderr, 'parley-desktop: cannot reach no-such-host.invalid:8783: unknown host "no-such-host.invalid"\n');
});

test('wrong options exit 2 and say what to fix', async () => {
  const cases: [string[], RegExp][] = [
    [['--send', 'hi'], /--send needs --user NAME/],
    [['--tail'], /--tail needs --user NAME/],
    [['--user', 'a', '--history', 'ten'], /--history is "ten"; use a whole number/],
    [['--port', '70000'], /--port is "70000"; use a number from 1 to 65535/],
    [['--user', ''], /--user: username is empty/],
    [['--frobnicate'], /Unknown option '--frobnicate'/],
    [['--user', 'a', '--send', 'x', '--tail'], /--send cannot be combined/],
  ];
  for (const [args, expected] of cases) {
    const result = await run(args);
    assert.equal(result.code, 2, args.join(' '));
    assert.match(result.stderr, expected);
    assert.match(result.stderr, /Try --help/);
  }
});

test('--help prints the usage and exits 0', async () => {
  const result = await run(['--help']);
  assert.equal(result.code, 0);
  assert.match(result.stdout, /^Usage: parley-desktop \[options\]/);
  assert.match(result.stdout, /--tail/);
});

test('the chat screen refuses to start without a terminal and points to the script modes', async () => {
  const result = await run(['--user', 'alice']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /needs a terminal; in scripts use --send, --tail or --history/);
});
