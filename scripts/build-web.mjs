// Bundles the Preact client: minified, content-hashed assets with source maps, index.html
// pointing at them, and .gz/.br copies made once here so the server never compresses per request.
import { build } from 'esbuild';
import { copyFile, mkdir, readFile, readdir, unlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);
/** Budget from the web client issue: every script and stylesheet together, gzipped. */
const BUDGET_BYTES = 30 * 1024;
const COMPRESSIBLE = /\.(js|css|html|svg|map|json|txt)$/;

export async function buildWebClient(root) {
  const source = join(root, 'client/web');
  const out = join(root, 'dist/web');
  await mkdir(join(out, 'assets'), { recursive: true });

  const result = await build({
    absWorkingDir: root,
    entryPoints: { app: join(source, 'main.tsx'), style: join(source, 'style.css') },
    outdir: join(out, 'assets'),
    entryNames: '[name]-[hash]',
    bundle: true,
    minify: true,
    sourcemap: 'linked',
    format: 'esm',
    target: ['chrome110', 'firefox110', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    metafile: true,
    logLevel: 'warning',
  });

  const current = new Set(Object.keys(result.metafile.outputs).map((file) => join(root, file)));
  const outputs = Object.keys(result.metafile.outputs).filter((file) => !file.endsWith('.map'));
  const script = outputs.find((file) => file.endsWith('.js'));
  const stylesheet = outputs.find((file) => file.endsWith('.css'));
  const template = await readFile(join(source, 'index.html'), 'utf8');
  const html = template
    .replace('%SCRIPT%', `/assets/${basename(script)}`)
    .replace('%STYLESHEET%', `/assets/${basename(stylesheet)}`);
  await writeFile(join(out, 'index.html'), html);
  for (const file of await readdir(join(source, 'public')).catch(() => [])) {
    await copyFile(join(source, 'public', file), join(out, file));
  }

  // Assets of earlier builds go (their names carry an old hash); nothing refers to them now.
  for (const file of await listFiles(join(out, 'assets'))) {
    const original = file.replace(/\.(gz|br)$/, '');
    if (!current.has(original)) await unlink(file).catch(() => {});
  }

  let gzippedTotal = 0;
  for (const file of await listFiles(out)) {
    if (!COMPRESSIBLE.test(file)) continue;
    const body = await readFile(file);
    const gz = await gzipAsync(body, { level: 9 });
    const br = await brotliAsync(body, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: body.length },
    });
    await writeFile(`${file}.gz`, gz);
    await writeFile(`${file}.br`, br);
    if (/\.(js|css)$/.test(file)) gzippedTotal += gz.length;
  }
  const summary = `${(gzippedTotal / 1024).toFixed(1)} KB of JS+CSS gzipped, budget ${BUDGET_BYTES / 1024} KB`;
  if (gzippedTotal > BUDGET_BYTES) throw new Error(`web client is over budget: ${summary}`);
  return summary;
}

async function listFiles(dir) {
  const files = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(path)));
    else files.push(path);
  }
  return files;
}
