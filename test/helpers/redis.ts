// A private redis-server for a test: a free port on 127.0.0.1, a temporary folder, AOF on, no
// RDB snapshots, and cleanup registered by the caller. Readiness is Redis's own log line, so
// nothing sleeps. It can be killed and started again on the same port and folder, which is how
// the fault tests take Redis away mid-traffic and bring it back. Never touches another Redis.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface RedisOptions {
  /** 'always' (acknowledged means on disk, the deploy guide's setting), 'everysec', or 'off' (no AOF). */
  appendfsync?: 'always' | 'everysec' | 'off';
}

export interface RunningRedis {
  port: number;
  /** redis://127.0.0.1:PORT/0 */
  url: string;
  dir: string;
  /** True between a start and the exit of that process. */
  readonly isRunning: boolean;
  /** SIGKILL: a crash, nothing flushed beyond what appendfsync already wrote. */
  kill(): Promise<void>;
  /** Starts again on the same port and folder (it replays its AOF). */
  restart(): Promise<void>;
  /** SIGTERM, wait for exit, remove the folder. */
  stop(): Promise<void>;
}

const READY = /Ready to accept connections/;
const PORT_TAKEN = /Address already in use/;

export async function startRedis(options: RedisOptions = {}): Promise<RunningRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-redis-'));
  const fsync = options.appendfsync ?? 'always';
  const args = (port: number) => [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--save', '',
    '--appendonly', fsync === 'off' ? 'no' : 'yes',
    ...(fsync === 'off' ? [] : ['--appendfsync', fsync]),
    '--dir', dir,
    '--daemonize', 'no',
    '--loglevel', 'notice',
  ];

  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let port = 0;
  const launch = async (): Promise<'ready' | 'port-taken'> => {
    const started = spawn('redis-server', args(port), { stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    let output = '';
    exited = new Promise((resolve) => started.once('exit', () => resolve()));
    const result = await new Promise<'ready' | 'port-taken'>((resolve, reject) => {
      started.once('error', (error) => reject(new Error(`cannot run redis-server (${error.message}); install the redis-server package`)));
      createInterface({ input: started.stdout! }).on('line', (line) => {
        output += `${line}\n`;
        if (READY.test(line)) resolve('ready');
      });
      started.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      void exited.then(() => (PORT_TAKEN.test(output) ? resolve('port-taken') : reject(new Error(`redis-server exited before it was ready:\n${output}`))));
    });
    if (result === 'port-taken') child = null;
    return result;
  };

  // A port free a moment ago may be taken by the time Redis binds it; then try another.
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    if ((await launch()) === 'ready') break;
    if (attempt === 5) throw new Error('redis-server found no free port in 6 attempts');
  }

  const end = async (signal: NodeJS.Signals) => {
    const running = child;
    if (running === null) return;
    if (running.exitCode === null && running.signalCode === null) running.kill(signal);
    await exited;
    child = null;
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    dir,
    get isRunning() {
      return child !== null;
    },
    kill: () => end('SIGKILL'),
    async restart() {
      await end('SIGKILL');
      // The port was ours a moment ago; Redis binds with SO_REUSEADDR, so it is free again.
      if ((await launch()) !== 'ready') throw new Error(`redis-server could not bind port ${port} again`);
    },
    async stop() {
      await end('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
