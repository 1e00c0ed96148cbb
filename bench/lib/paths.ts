// Where things are, and how the bench reaches its own dependencies.
//
// The runner is TypeScript built into dist/bench/ like the rest of Parley, so `import.meta.url`
// is under dist/. A bare `import 'autocannon'` from there would search dist/bench/node_modules,
// dist/node_modules and the root node_modules, never bench/node_modules, where bench's own
// package.json installs it (kept apart so the server's install stays small). So autocannon is
// loaded with a require rooted at bench/package.json. The peers (bench/peers/*.mjs, *.py) run
// from source, so their own `import 'fastify'` finds bench/node_modules the ordinary way.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type autocannonFunction from 'autocannon';

/** Everything runs on loopback: the bench never opens a port to the network. */
export const HOST = '127.0.0.1';

/** The repository root (this file runs as dist/bench/lib/paths.js). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BENCH_DIR = join(ROOT, 'bench');
export const RESULTS_DIR = join(BENCH_DIR, 'results');
export const PEERS_DIR = join(BENCH_DIR, 'peers');
export const SERVER_MAIN = join(ROOT, 'dist/server/main.js');
/** Built swarm entry: child processes that hold thousands of client sockets. */
export const SWARM_MAIN = fileURLToPath(new URL('./swarm.js', import.meta.url));

const requireFromBench = createRequire(join(BENCH_DIR, 'package.json'));

export function loadAutocannon(): typeof autocannonFunction {
  if (!existsSync(join(BENCH_DIR, 'node_modules', 'autocannon'))) {
    throw new Error('bench/node_modules is missing: run `npm run bench` (its prebench step installs it) or `cd bench && npm ci`');
  }
  return requireFromBench('autocannon') as typeof autocannonFunction;
}
