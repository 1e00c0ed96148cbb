// A private redis-server for a test: a free port on 127.0.0.1, a temporary folder, AOF on, no
// RDB snapshots, and cleanup registered by the caller. Readiness is Redis's own log line, so
// nothing sleeps. It can be killed and started again on the same port and folder, which is how
// the fault tests take Redis away mid-traffic and bring it back, and frozen (SIGSTOP), which is
// a hung Redis: connections stay open and nothing answers. Never touches another Redis.
//
// startRelay() puts a TCP relay between one node and Redis: the network in between, which a
// test can cut (the node loses Redis while the others keep it), make refuse one kind of
// connection by the name node-redis gives it in its first bytes (CLIENT SETNAME), silence
// (the connections open now go half-open while new ones get through) or slow down (Redis's
// replies held back, then let through).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
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
  /** SIGSTOP: Redis hangs with every connection open; thaw() resumes it. */
  freeze(): void;
  /** SIGCONT after freeze(). */
  thaw(): void;
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
    freeze() {
      (child as ChildProcess | null)?.kill('SIGSTOP');
    },
    thaw() {
      (child as ChildProcess | null)?.kill('SIGCONT');
    },
    async restart() {
      await end('SIGKILL');
      // The port was ours a moment ago; Redis binds with SO_REUSEADDR, so it is free again.
      if ((await launch()) !== 'ready') throw new Error(`redis-server could not bind port ${port} again`);
    },
    async stop() {
      (child as ChildProcess | null)?.kill('SIGCONT'); // a frozen Redis would not act on SIGTERM
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

export interface RedisRelay {
  /** redis://127.0.0.1:RELAY_PORT/0, for the node that should sit behind it. */
  url: string;
  /** Drops every connection and refuses new ones until restore(). */
  cut(): void;
  /** Lets connections through again. */
  restore(): void;
  /** Refuses connections whose client name matches (e.g. /-commands$/), or none for null. */
  refuseNamed(pattern: RegExp | null): void;
  /**
   * Makes every open connection half-open: nothing it carries arrives any more and nothing
   * closes it (the peer's host crashed, no RST). New connections go through as before.
   */
  silence(): void;
  /** Holds back what Redis sends on the open connections (a slow network) until releaseReplies(). */
  holdReplies(): void;
  releaseReplies(): void;
  close(): Promise<void>;
}

export async function startRelay(redis: RunningRedis): Promise<RedisRelay> {
  const pairs = new Set<Socket>();
  const controls = new WeakMap<Socket, { silence(): void; hold(): void; release(): void }>();
  let isCut = false;
  let refused: RegExp | null = null;
  const server = createServer((downstream) => {
    downstream.on('error', () => {});
    if (isCut) {
      downstream.destroy();
      return;
    }
    // The first bytes name the connection (node-redis sends CLIENT SETNAME first).
    downstream.once('data', (first: Buffer) => {
      const name = /SETNAME\r\n\$\d+\r\n([^\r]*)/.exec(first.toString('latin1'))?.[1] ?? '';
      if (isCut || (refused !== null && refused.test(name))) {
        downstream.destroy();
        return;
      }
      const upstream = connect(redis.port, '127.0.0.1');
      upstream.on('error', () => downstream.destroy());
      downstream.on('close', () => upstream.destroy());
      upstream.on('close', () => downstream.destroy());
      pairs.add(downstream);
      downstream.on('close', () => pairs.delete(downstream));
      controls.set(downstream, {
        silence() {
          downstream.unpipe(upstream);
          upstream.unpipe(downstream);
          downstream.on('data', () => {}); // read and dropped, so the sender never sees back-pressure
          upstream.on('data', () => {});
        },
        hold() {
          upstream.unpipe(downstream);
          upstream.pause();
        },
        release() {
          upstream.pipe(downstream);
        },
      });
      upstream.write(first);
      downstream.pipe(upstream);
      upstream.pipe(downstream);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const dropAll = () => {
    for (const socket of pairs) socket.destroy();
  };
  return {
    url: `redis://127.0.0.1:${port}/0`,
    cut() {
      isCut = true;
      dropAll();
    },
    restore() {
      isCut = false;
    },
    refuseNamed(pattern) {
      refused = pattern;
      if (pattern !== null) dropAll();
    },
    silence() {
      for (const socket of pairs) controls.get(socket)?.silence();
    },
    holdReplies() {
      for (const socket of pairs) controls.get(socket)?.hold();
    },
    releaseReplies() {
      for (const socket of pairs) controls.get(socket)?.release();
    },
    close() {
      dropAll();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
