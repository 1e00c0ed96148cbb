#!/usr/bin/env node
// Builds everything into dist/, mirroring the source tree for Node code (one .js per .ts, so
// `import.meta.url` points where it would in the source and Piscina finds its task files), and
// bundling the web client into dist/web with content-hashed, pre-compressed assets.
import { build } from 'esbuild';
import { readdir, rm, mkdir, unlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWebClient } from './build-web.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const nodeTrees = ['server', 'protocol', 'client/desktop', 'bench', 'test'];

async function listSources(dir) {
  const found = [];
  let entries;
  try {
    entries = await readdir(join(root, dir), { withFileTypes: true });
  } catch {
    return found;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === 'node_modules' || entry.name === 'results') continue;
      found.push(...(await listSources(path)));
    } else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')) {
      found.push(path);
    }
  }
  return found;
}

async function listFiles(dir) {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath ?? entry.path, entry.name));
}

const started = performance.now();
await mkdir(join(root, 'dist'), { recursive: true });

const entryPoints = (await Promise.all(nodeTrees.map(listSources))).flat();
const result = await build({
  metafile: true,
  absWorkingDir: root,
  entryPoints,
  outdir: 'dist',
  outbase: '.',
  bundle: false,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  jsx: 'automatic',
  jsxImportSource: 'preact',
});

// Files of removed sources are pruned instead of wiping dist/ first, so a build never pulls
// files from under a server or test that is running from dist/ at that moment.
const produced = new Set(Object.keys(result.metafile.outputs).map((file) => join(root, file)));
for (const tree of nodeTrees) {
  for (const file of await listFiles(join(root, 'dist', tree))) {
    if (!produced.has(file)) await unlink(file).catch(() => {});
  }
}

const web = await buildWebClient(root);
const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log(`built ${entryPoints.length} Node modules and the web client (${web}) in ${seconds}s`);
