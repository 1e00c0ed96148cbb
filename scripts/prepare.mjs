#!/usr/bin/env node
// Makes a fresh clone runnable: installs dependencies when package-lock.json changed since the
// last install (or nothing is installed yet), then builds. `npm start` and `npm test` run this
// first, so neither needs a manual step. `--bench` also installs bench/'s own dependencies.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const quiet = process.argv.includes('--quiet');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function ensureInstalled(dir) {
  const lock = join(dir, 'package-lock.json');
  const stamp = join(dir, 'node_modules', '.parley-installed');
  const manifest = existsSync(lock) ? lock : join(dir, 'package.json');
  const hash = createHash('sha256').update(readFileSync(manifest)).digest('hex');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) return;
  if (!quiet) console.log(`installing dependencies in ${dir === root ? '.' : dir} ...`);
  const command = existsSync(lock) ? 'ci' : 'install';
  execFileSync(npm, [command, '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, stdio: 'inherit' });
  writeFileSync(stamp, hash);
}

ensureInstalled(root);
if (process.argv.includes('--bench') && existsSync(join(root, 'bench', 'package.json'))) {
  ensureInstalled(join(root, 'bench'));
}
execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs')], {
  cwd: root,
  stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit',
});
