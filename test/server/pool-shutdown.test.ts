// A store closed while its worker threads are still starting (a server stopped right after it
// started) closes cleanly. Piscina loads task files with require() first, and on Node 20.19+ a
// worker terminated during require(esm) aborted the whole process; the store's workers load
// their ES modules with import() instead (server/store/local-chat.ts).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

test('a store closed while its worker threads are still loading never aborts the process', { timeout: 120_000 }, async () => {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./pool-shutdown-child.js', import.meta.url)), '150'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk));
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  assert.deepEqual([code, signal], [0, null], output.slice(-2000));
  assert.match(output, /survived 150/);
});
