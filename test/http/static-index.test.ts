// The index of the web client's files, built at startup and rebuilt in the background after a
// rebuild of the client, on a folder of the test's own.
import assert from 'node:assert/strict';
import fs, { mkdirSync, mkdtempSync, rmSync, writeFileSync, type Dirent } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { indexAsync, indexSync } from '../../server/http/static-index.js';

/** A web client folder with nested, hidden and ordinary files; removed when the test ends. */
function webFolder(t: TestContext): string {
  const root = mkdtempSync(join(tmpdir(), 'parley-web-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'assets', 'fonts'), { recursive: true });
  mkdirSync(join(root, 'assets', '.cache'));
  mkdirSync(join(root, '.git'));
  writeFileSync(join(root, 'index.html'), '<!doctype html>');
  writeFileSync(join(root, 'assets', 'app-1.js'), 'one');
  writeFileSync(join(root, 'assets', 'fonts', 'mono.woff2'), 'font');
  writeFileSync(join(root, 'assets', '.cache', 'note.txt'), 'hidden');
  writeFileSync(join(root, 'assets', '.env'), 'hidden');
  writeFileSync(join(root, '.git', 'HEAD'), 'hidden');
  return root;
}

const EXPECTED = ['/assets/app-1.js', '/assets/fonts/mono.woff2', '/index.html'];

/**
 * Makes node:fs list directories the way Node 20.10 and 20.11 do (package.json allows them):
 * entries without `parentPath`, which came in 20.12. Undone when the test ends.
 */
function withoutParentPath(t: TestContext): void {
  const strip = <T>(entries: T): T => {
    if (Array.isArray(entries)) for (const entry of entries) if (entry instanceof fs.Dirent) delete (entry as Partial<Dirent>).parentPath;
    return entries;
  };
  const { readdirSync } = fs;
  const { readdir } = fs.promises;
  fs.readdirSync = ((...args: Parameters<typeof readdirSync>) => strip(readdirSync(...args))) as typeof readdirSync;
  fs.promises.readdir = (async (...args: Parameters<typeof readdir>) => strip(await readdir(...args))) as typeof readdir;
  syncBuiltinESMExports();
  t.after(() => {
    fs.readdirSync = readdirSync;
    fs.promises.readdir = readdir;
    syncBuiltinESMExports();
  });
}

test('both indexes list nested files and skip dot-named files and folders at any depth', async (t) => {
  const root = webFolder(t);
  const first = indexSync(root);
  assert.deepEqual([...first.keys()].sort(), EXPECTED);
  assert.deepEqual([...(await indexAsync(root, new Map())).keys()].sort(), EXPECTED);

  // A rebuild: one asset replaced by another in a folder that did not exist before.
  rmSync(join(root, 'assets', 'app-1.js'));
  mkdirSync(join(root, 'assets', 'chunks'));
  writeFileSync(join(root, 'assets', 'chunks', 'app-2.js'), 'two');
  const rebuilt = await indexAsync(root, first);
  assert.deepEqual([...rebuilt.keys()].sort(), ['/assets/chunks/app-2.js', '/assets/fonts/mono.woff2', '/index.html']);
  assert.equal(rebuilt.get('/assets/chunks/app-2.js')!.identity.body!.toString(), 'two');
  assert.equal(rebuilt.get('/index.html')!.identity, first.get('/index.html')!.identity, 'an unchanged file is kept, not read again');
  assert.match(rebuilt.get('/assets/fonts/mono.woff2')!.contentType, /^font\/woff2/);
});

test('both indexes work on Node 20.10, whose directory entries have no parentPath', async (t) => {
  const root = webFolder(t);
  withoutParentPath(t);
  assert.deepEqual([...indexSync(root).keys()].sort(), EXPECTED);
  assert.deepEqual([...(await indexAsync(root, new Map())).keys()].sort(), EXPECTED);
});

test('an index of a folder that does not exist is empty, not an error', async () => {
  const missing = join(tmpdir(), 'parley-web-never-made');
  assert.equal(indexSync(missing).size, 0);
  assert.equal((await indexAsync(missing, new Map())).size, 0);
});
