// scripts/clean.sh against a real running server: rotating or deleting chat.log loses no line the
// server writes afterwards, keeps at most --keep old copies, and refuses bad flags clearly.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, startServer, type RunningServer } from '../helpers/server.js';
import { pollUntil, readLogLines, run, type Frame } from './support.js';

const CLEAN = join(ROOT, 'scripts/clean.sh');

function clean(...args: string[]) {
  return run(CLEAN, args);
}

async function cleanServerLog(server: RunningServer, keep: number) {
  const result = await clean('--log', server.logFile, '--data-dir', server.dataDir, '--keep', String(keep));
  assert.equal(result.stderr, '');
  assert.equal(result.code, 0);
}

const isAccess = (line: Frame) => line.event === 'http';
const accessLines = (file: string) => readLogLines(file).filter(isAccess).length;

/** Makes `count` HTTP requests, each of which the server logs as one access line. */
async function makeRequests(server: RunningServer, count: number) {
  for (let i = 0; i < count; i++) {
    const response = await fetch(`${server.baseUrl}/api/health`);
    await response.arrayBuffer();
  }
}

function logCopies(server: RunningServer): string[] {
  return readdirSync(server.dataDir)
    .filter((name) => name.startsWith('chat.log.'))
    .sort();
}

async function start(t: { after(fn: () => Promise<unknown>): void }) {
  const server = await startServer({ args: ['--workers', '1'] });
  t.after(() => server.stop());
  return server;
}

test('--keep 0 deletes chat.log and the server writes its next lines to a new one', { timeout: 30_000 }, async (t) => {
  const server = await start(t);
  await makeRequests(server, 2);
  await pollUntil('two access lines', () => accessLines(server.logFile) === 2);

  await cleanServerLog(server, 0);
  assert.equal(accessLines(server.logFile), 0, 'the old lines are gone');
  assert.deepEqual(logCopies(server), [], 'no copy is kept, no temporary file is left');

  await makeRequests(server, 3);
  await pollUntil('three access lines in the new chat.log', () => accessLines(server.logFile) === 3);
});

test('--keep 2 numbers copies newest first and keeps at most two', { timeout: 30_000 }, async (t) => {
  const server = await start(t);
  // Generation g makes g requests, so each file's access-line count says which generation it holds.
  for (let generation = 1; generation <= 4; generation++) {
    await makeRequests(server, generation);
    await pollUntil(`${generation} access lines`, () => accessLines(server.logFile) === generation);
    if (generation < 4) await cleanServerLog(server, 2);
  }
  assert.deepEqual(logCopies(server), ['chat.log.1', 'chat.log.2']);
  assert.equal(accessLines(`${server.logFile}.1`), 3);
  assert.equal(accessLines(`${server.logFile}.2`), 2);

  await cleanServerLog(server, 1);
  assert.deepEqual(logCopies(server), ['chat.log.1'], 'a smaller --keep prunes the older copies');
  assert.equal(accessLines(`${server.logFile}.1`), 4);
});

test('rotating while the server writes loses no line', { timeout: 60_000 }, async (t) => {
  const server = await start(t);
  let requests = 0;
  let writing = true;
  const writer = (async () => {
    while (writing) {
      await makeRequests(server, 1);
      requests++;
    }
  })();
  const rotations = 5;
  for (let i = 0; i < rotations; i++) {
    const before = requests;
    await pollUntil('more requests between rotations', () => requests >= before + 3);
    await cleanServerLog(server, rotations);
  }
  writing = false;
  await writer;

  const files = [server.logFile, ...logCopies(server).map((name) => join(server.dataDir, name))];
  assert.equal(files.length, rotations + 1);
  await pollUntil(
    `${requests} access lines across ${files.length} files`,
    () => files.reduce((sum, file) => sum + accessLines(file), 0) === requests,
  );
  const oldest = readLogLines(`${server.logFile}.${rotations}`).map((line) => line.event);
  assert.ok(oldest.includes('start'), 'the oldest copy holds the first lines, start among them');
});

test('a chat.log deleted without clean.sh is recreated within seconds', { timeout: 30_000 }, async (t) => {
  const server = await start(t);
  rmSync(server.logFile);
  // No signal: the server checks its file at most once a second when it writes.
  await pollUntil(
    'a new chat.log with an access line',
    async () => {
      await makeRequests(server, 1);
      return accessLines(server.logFile) > 0;
    },
    10_000,
  );
});

test('a log that cannot be reopened for a while is retried, and logging resumes by itself', { timeout: 30_000 }, async (t) => {
  const server = await start(t);
  const aside = `${server.logFile}.aside`;
  renameSync(server.logFile, aside);
  // A folder where the log should be: every open fails (EISDIR), even for root, as EMFILE or
  // EACCES would.
  mkdirSync(server.logFile);
  const openFiles = () => readdirSync(`/proc/${server.pid}/fd`).map((fd) => {
    try {
      return readlinkSync(`/proc/${server.pid}/fd/${fd}`);
    } catch {
      return ''; // closed while we looked
    }
  });
  await pollUntil('the server to notice the rename and fail to reopen its log', async () => {
    await makeRequests(server, 1);
    return !openFiles().includes(aside);
  });

  rmdirSync(server.logFile);
  await pollUntil(
    'a new chat.log with an access line, without SIGHUP',
    async () => {
      await makeRequests(server, 1);
      return existsSync(server.logFile) && statSync(server.logFile).isFile() && accessLines(server.logFile) > 0;
    },
    10_000,
  );
});

test('--keep 0 for a server with no PID file (--memory) loses no line written after clean.sh returns', { timeout: 30_000 }, async (t) => {
  const server = await startServer({ args: ['--workers', '1', '--memory'] });
  t.after(() => server.stop());
  const noPidFile = mkdtempSync(join(tmpdir(), 'parley-clean-'));
  t.after(() => rmSync(noPidFile, { recursive: true, force: true }));
  // Requests up to the moment clean.sh runs: the server checked its file less than a second ago,
  // so it goes on writing to the renamed file for up to a second.
  await makeRequests(server, 20);
  const result = await clean('--log', server.logFile, '--data-dir', noPidFile, '--keep', '0');
  assert.deepEqual([result.code, result.stderr], [0, '']);

  await makeRequests(server, 3);
  await pollUntil('the three access lines in the new chat.log', () => accessLines(server.logFile) >= 3);
  assert.equal(accessLines(server.logFile), 3);
  assert.deepEqual(logCopies(server), [], 'no copy is kept, no temporary file is left');
});

test('without a PID file or with a dead PID, clean.sh just rotates', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-clean-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, 'chat.log');
  const dataDir = join(dir, 'data');

  writeFileSync(log, '{"event":"one"}\n');
  let result = await clean('--log', log, '--data-dir', dataDir, '--keep', '1');
  assert.deepEqual([result.code, result.stderr], [0, '']);
  assert.ok(!existsSync(log) && existsSync(`${log}.1`));

  // A PID that surely belongs to no process any more: that of a node which has exited.
  const deadPid = Number((await run(process.execPath, ['-e', 'console.log(process.pid)'])).stdout);
  writeFileSync(join(dir, 'parley.pid'), `${deadPid}\n`);
  writeFileSync(log, '{"event":"two"}\n');
  result = await clean('--log', log, '--data-dir', dir, '--keep', '0');
  assert.deepEqual([result.code, result.stderr], [0, '']);
  assert.ok(!existsSync(log));
  assert.ok(existsSync(`${log}.1`) === false, '--keep 0 leaves no copy behind either');
});

test('a parley.pid naming an unrelated node process is not signalled: it survives, with a warning', { timeout: 30_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-clean-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // Named "node" like a Parley server, but not one: SIGHUP would terminate it.
  const stranger = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  t.after(() => stranger.kill('SIGKILL'));
  await new Promise((resolve) => stranger.once('spawn', resolve));
  const pidFile = join(dir, 'parley.pid');
  writeFileSync(pidFile, `${stranger.pid}\n`);
  const log = join(dir, 'chat.log');
  writeFileSync(log, '{"event":"one"}\n');

  const result = await clean('--log', log, '--data-dir', dir, '--keep', '1');
  assert.equal(result.code, 0);
  assert.equal(result.stderr, `clean.sh: ${pidFile} names PID ${stranger.pid}, which is not a Parley server (a stale file whose number was reused?); not signalling it.\n`);
  assert.ok(!existsSync(log) && existsSync(`${log}.1`), 'the log was rotated all the same');
  assert.equal(stranger.exitCode, null, 'the stranger was left running');
  assert.equal(stranger.signalCode, null);
});

/** A project folder of its own, scripts/clean.sh copied in, and an empty folder to run it from
 *  (as cron runs jobs in the home folder). */
function fakeProject(t: { after(fn: () => void): void }) {
  const root = mkdtempSync(join(tmpdir(), 'parley-project-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const project = join(root, 'parley');
  const home = join(root, 'home');
  mkdirSync(join(project, 'scripts'), { recursive: true });
  mkdirSync(home);
  const script = join(project, 'scripts', 'clean.sh');
  copyFileSync(CLEAN, script);
  // Only what cron passes: none of the PARLEY_ variables a developer's shell may have set.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PARLEY_')));
  return { project, home, clean: (...args: string[]) => run(script, args, 15_000, { ...env, HOME: home }, home) };
}

test('run from another folder with no arguments, clean.sh rotates the log of the server in its project folder', { timeout: 30_000 }, async (t) => {
  const { project, clean: cleanFromHome } = fakeProject(t);
  const log = join(project, 'chat.log');
  // The layout `npm start` makes with the defaults: chat.log and data/ in the project folder.
  const server = await startServer({ dataDir: join(project, 'data'), args: ['--workers', '1', '--log', log] });
  t.after(() => server.stop());
  await makeRequests(server, 2);
  await pollUntil('two access lines', () => accessLines(log) === 2);

  const result = await cleanFromHome();
  assert.deepEqual([result.code, result.stderr], [0, '']);
  const events = readLogLines(log).map((line) => line.event);
  assert.ok(!events.includes('start') && accessLines(log) === 0, `the old lines are gone: ${JSON.stringify(events)}`);
  assert.ok(events.includes('log-reopened'), 'the server got SIGHUP through data/parley.pid and reopened its log');
  await makeRequests(server, 1);
  await pollUntil('an access line in the new chat.log', () => accessLines(log) === 1);
});

test('a log that is not where clean.sh looks is reported on stderr with exit code 1', async (t) => {
  const { project, clean: cleanFromHome } = fakeProject(t);
  let result = await cleanFromHome();
  assert.equal(result.code, 1);
  assert.equal(result.stderr, `clean.sh: no log file at '${join(project, 'chat.log')}', so nothing was rotated; pass the --log (and --data-dir) the server was started with.\n`);

  const elsewhere = join(project, 'logs', 'chat.log');
  mkdirSync(join(project, 'logs'));
  result = await cleanFromHome('--log', elsewhere, '--data-dir', join(project, 'data'));
  assert.equal(result.code, 1);
  assert.match(result.stderr, new RegExp(`no log file at '${elsewhere}'`));
});

test('bad flags get a clear message and a non-zero exit', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--frobnicate'], /unknown option '--frobnicate'/],
    [['--keep', 'lots'], /--keep must be a whole number from 0 to 9999, not 'lots'/],
    [['--keep', '-1'], /--keep must be a whole number/],
    [['--log'], /--log needs a value/],
    [['--data-dir', '--keep', '1'], /--data-dir needs a value/],
  ];
  for (const [args, message] of cases) {
    const result = await clean(...args);
    assert.equal(result.code, 2, `clean.sh ${args.join(' ')}`);
    assert.match(result.stderr, message);
    assert.match(result.stderr, /--help/);
    assert.equal(result.stdout, '');
  }
});

test('--help explains every option and exits 0', async () => {
  const result = await clean('--help');
  assert.equal(result.code, 0);
  for (const option of ['--log FILE', '--data-dir DIR', '--keep N', '--help']) assert.ok(result.stdout.includes(option), option);
});
