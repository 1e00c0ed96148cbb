// parley.pid: a running Parley keeps a second server off its data folder, while a PID file left
// by a crash never blocks a restart, even when its number now belongs to another program
// (PIDs are reused). Two servers starting at the same moment: exactly one gets the folder.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chownSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { SERVER_MAIN, startServer, type RunningServer } from '../helpers/server.js';
import { runServer } from './support.js';
import { temporaryFolder } from '../helpers/temporary-folder.js';

const pidIn = (dataDir: string) => Number(readFileSync(join(dataDir, 'parley.pid'), 'utf8'));

test('a second server on a data folder a running Parley uses is refused, naming the first one', { timeout: 20_000 }, async (t) => {
  const dataDir = temporaryFolder(t, 'pid');
  const first = await startServer({ dataDir });
  t.after(() => first.stop());
  const second = await runServer(['--host', '127.0.0.1', '--tcp-port', '0', '--http-port', '0', '--data-dir', dataDir, '--log', 'off']);
  assert.equal(second.code, 1, second.stdout + second.stderr);
  assert.equal(second.stderr, `parley: another Parley server (pid ${first.pid}) is using the data folder ${dataDir}; stop it or choose another --data-dir\n`);
  assert.equal(pidIn(dataDir), first.pid, 'the refused server left the PID file alone');
});

test('a stale parley.pid naming a live program that is not Parley does not block the start', { timeout: 20_000 }, async (t) => {
  const dataDir = temporaryFolder(t, 'pid');
  const stranger = spawn('sleep', ['60'], { stdio: 'ignore' });
  t.after(() => stranger.kill('SIGKILL'));
  await new Promise((resolve) => stranger.once('spawn', resolve));
  writeFileSync(join(dataDir, 'parley.pid'), `${stranger.pid}\n`);

  const server = await startServer({ dataDir });
  t.after(() => server.stop());
  assert.equal(pidIn(dataDir), server.pid);
  assert.equal(stranger.exitCode, null, 'the stranger was left running');
  assert.equal(stranger.signalCode, null);
});

test('a parley.pid with no number in it is taken over', { timeout: 20_000 }, async (t) => {
  const dataDir = temporaryFolder(t, 'pid');
  writeFileSync(join(dataDir, 'parley.pid'), 'garbage\n');
  const server = await startServer({ dataDir });
  t.after(() => server.stop());
  assert.equal(pidIn(dataDir), server.pid);
});

test('of two servers started at once on one data folder exactly one runs', { timeout: 60_000 }, async (t) => {
  // A few rounds, each with a stale PID file and each without, so the race is really run.
  for (const round of [1, 2, 3, 4]) {
    const dataDir = temporaryFolder(t, 'pid');
    if (round % 2 === 0) writeFileSync(join(dataDir, 'parley.pid'), '999999999\n');
    const results = await Promise.allSettled([startServer({ dataDir, args: ['--workers', '1'] }), startServer({ dataDir, args: ['--workers', '1'] })]);
    const running = results.filter((r): r is PromiseFulfilledResult<RunningServer> => r.status === 'fulfilled').map((r) => r.value);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => String(r.reason));
    await Promise.all(running.map((server) => server.stop()));
    assert.equal(running.length, 1, `round ${round}: ${running.length} servers started`);
    assert.equal(refused.length, 1);
    assert.match(refused[0]!, new RegExp(`another Parley server \\(pid ${running[0]!.pid}\\) is using the data folder`));
    assert.deepEqual(readdirSync(dataDir).filter((name) => name.startsWith('parley.pid')), [], `round ${round}: files left`);
  }
});

/** The uid and gid of `nobody`: a user other than root for the server to run as. */
const NOBODY = 65534;

// With CI=true nothing may be skipped: there it runs, and fails loudly without root.
const needsRoot =
  process.getuid?.() === 0 || process.env.CI === 'true' ? false : 'runs the server as another user under a /proc mounted with hidepid=, which needs root';

/**
 * Starts the server as nobody on `dataDir` in a private mount namespace whose /proc hides other
 * users' processes; resolves with its exit code and stderr, stopping it with SIGTERM once ready.
 */
function serveAsNobodyWithHiddenProc(dataDir: string): Promise<{ wasReady: boolean; code: number | null; stderr: string }> {
  const child = spawn(
    'unshare',
    [
      '--mount', '--propagation', 'private', 'sh', '-c',
      'mount -t proc -o hidepid=invisible proc /proc && exec setpriv --reuid=$0 --regid=$0 --clear-groups "$@"',
      String(NOBODY), process.execPath, SERVER_MAIN,
      '--host', '127.0.0.1', '--tcp-port', '0', '--http-port', '0', '--data-dir', dataDir, '--log', 'off',
    ],
    { env: { ...process.env, PARLEY_READY: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let wasReady = false;
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    // sh and setpriv exec, so the child's PID is the server's.
    if (!wasReady && chunk.includes('PARLEY_READY')) child.kill('SIGTERM');
    wasReady ||= chunk.includes('PARLEY_READY');
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => child.once('close', (code) => resolve({ wasReady, code, stderr })));
}

test('a stale parley.pid this user wrote, now naming another user\'s process that /proc hides, is taken over', { skip: needsRoot, timeout: 30_000 }, async (t) => {
  // The service's case after a power cut: its PID file names a number now used by a process of
  // another user, and /proc hides that process, so its command line cannot be read.
  const dataDir = temporaryFolder(t, 'pid');
  chownSync(dataDir, NOBODY, NOBODY);
  const stranger = spawn('sleep', ['60'], { stdio: 'ignore' }); // root's: nobody gets EPERM
  t.after(() => stranger.kill('SIGKILL'));
  await new Promise((resolve) => stranger.once('spawn', resolve));
  const pidFile = join(dataDir, 'parley.pid');

  // Written by root: it might be a Parley that root started on this folder, so the server asks.
  writeFileSync(pidFile, `${stranger.pid}\n`);
  const refused = await serveAsNobodyWithHiddenProc(dataDir);
  assert.deepEqual([refused.wasReady, refused.code], [false, 1], refused.stderr);
  assert.match(refused.stderr, new RegExp(`names pid ${stranger.pid}, which is running but cannot be inspected`));

  // Written by the server's own user: that server could be signalled, this process cannot.
  chownSync(pidFile, NOBODY, NOBODY);
  const started = await serveAsNobodyWithHiddenProc(dataDir);
  assert.deepEqual([started.wasReady, started.code], [true, 0], started.stderr);
  assert.equal(stranger.exitCode, null, 'the stranger was left running');
  assert.deepEqual(readdirSync(dataDir).filter((name) => name.startsWith('parley.pid')), [], 'the clean stop removed the PID file');
});
