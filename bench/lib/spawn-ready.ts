// Starts a server process (Parley, a peer, redis-server) and waits for the line that says it
// listens, instead of guessing with sleeps. Parley prints `PARLEY_READY {json}`, the peers
// `PEER_READY {json}`; Redis has its own line, matched by a RegExp.
//
// Open files: a server holding 20,000 clients needs that many descriptors. A process may raise
// its soft limit up to the hard one but Node cannot call setrlimit, so the child is started
// through `sh -c 'ulimit -n HARD; exec ...'` when soft < hard. Nothing can go above the hard
// limit (`ulimit -Hn`); the scenarios size themselves to it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { readFileLimit } from './proc-stats.js';

const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

/** Servers still running; killed if the bench itself exits early (Ctrl-C, a crash). */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface ReadyProcess {
  pid: number;
  /** The JSON after the ready prefix ({} for a RegExp match). */
  ready: Record<string, unknown>;
  child: ChildProcess;
  /** The last 64 KiB the process printed, for error reports. */
  output(): string;
  /** SIGTERM, then SIGKILL after 10 s; resolves once it exited. */
  stop(): Promise<void>;
}

export interface SpawnOptions {
  /** `PARLEY_READY ` style prefix followed by JSON, or a RegExp for any line. */
  ready: string | RegExp;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export async function spawnReady(command: string, args: string[], options: SpawnOptions): Promise<ReadyProcess> {
  const limit = readFileLimit();
  const [file, argv] =
    limit.soft < limit.hard
      ? ['/bin/sh', ['-c', 'ulimit -n "$0" && exec "$@"', String(limit.hard), command, ...args]]
      : [command, args];
  const child = spawn(file, argv, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (text: string) => {
    output = (output + text).slice(-65_536);
  };
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', keep);
  running.add(child);
  // A process that never started (ENOENT, EACCES) emits 'error' and 'close' but no 'exit'.
  const exited = new Promise<void>((resolve) => {
    const end = () => {
      running.delete(child);
      resolve();
    };
    child.once('exit', end);
    child.once('close', end);
  });
  child.on('error', (error) => keep(`spawn failed: ${error.message}\n`));

  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} did not say it was ready within ${READY_TIMEOUT_MS / 1000}s:\n${output}`));
    }, READY_TIMEOUT_MS);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      keep(`${line}\n`);
      const isReady = typeof options.ready === 'string' ? line.startsWith(options.ready) : options.ready.test(line);
      if (!isReady) return;
      clearTimeout(timer);
      if (typeof options.ready !== 'string') return resolve({});
      try {
        resolve(JSON.parse(line.slice(options.ready.length)) as Record<string, unknown>);
      } catch {
        reject(new Error(`${command} printed a ready line that is not JSON: ${line}`));
      }
    });
    // Rejected before 'close' settles `exited`, so this is the reason given.
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${command} could not be started: ${error.message}`));
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${command} ${args.join(' ')} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output}`));
    });
  });

  return {
    pid: child.pid!,
    ready,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A port from a ready line, checked. */
export function portOf(ready: Record<string, unknown>, key: string): number {
  const value = ready[key];
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new Error(`ready line has no valid "${key}": ${JSON.stringify(ready)}`);
  }
  return value;
}
