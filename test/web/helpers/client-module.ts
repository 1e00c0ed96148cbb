// Loads a module of the web client into Node for unit tests. The build bundles client/web only
// for the browser (dist/web), so there is no dist/ copy to import: esbuild bundles the one
// module in memory, exactly as it will ship, and Node imports it from a data: URL.
import { build } from 'esbuild';
import { join } from 'node:path';
import { ROOT } from '../../helpers/server.js';

export async function importClientModule<T>(path: string): Promise<T> {
  const result = await build({
    entryPoints: [join(ROOT, 'client/web', path)],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'neutral',
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]!.text;
  return (await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)) as T;
}
