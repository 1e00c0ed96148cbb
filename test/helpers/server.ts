// Starts a real Parley server process for a test: ephemeral ports, a private data folder, and
// cleanup registered with the test. The server announces its ports on stdout when
// PARLEY_READY=1 (a line `PARLEY_READY {...}`), so nothing here guesses or sleeps.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const SERVER_MAIN = join(ROOT, 'dist/server/main.js');

export interface ServerOptions {
  /** Extra command-line flags, e.g. ['--memory'] or ['--workers', '1']. */
  args?: string[];
  /** Reuse a data folder (restart tests); a fresh temporary one otherwise. */
  dataDir?: string;
  env?: Record<string, string>;
  /** Keep the data folder after stop (the caller removes it). */
  keepData?: boolean;
}

export interface RunningServer {
  tcpPort: number;
  httpPort: number;
  /** Metrics port when bound separately, else equal to httpPort. */
  metricsPort: number;
  pid: number;
  dataDir: string;
  logFile: string;
  baseUrl: string;
  process: ChildProcess;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
  /** Resolves when the process exits, with its code. */
  exited: Promise<number | null>;
}

export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'parley-test-'));
  const logFile = join(dataDir, 'chat.log');
  const args = [
    SERVER_MAIN,
    '--host', '127.0.0.1',
    '--tcp-port', '0',
    '--http-port', '0',
    '--data-dir', dataDir,
    '--log', logFile,
    '--rate-limit', '0',
    ...(options.args ?? []),
  ];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, PARLEY_READY: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => {
      // A signal we did not send means the server crashed; its last words are the only clue.
      if (code === null && signal !== 'SIGKILL') process.stderr.write(`parley server ${child.pid} died by ${signal}:\n${output.slice(-4000)}\n`);
      resolve(code);
    }),
  );

  const ready = await new Promise<{ tcpPort: number; httpPort: number; metricsPort?: number }>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      output += `${line}\n`;
      if (line.startsWith('PARLEY_READY ')) resolve(JSON.parse(line.slice('PARLEY_READY '.length)));
    });
    void exited.then((code) => reject(new Error(`server exited with ${code} before it was ready:\n${output}`)));
  });

  const cleanup = () => {
    if (!options.keepData && !options.dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  return {
    tcpPort: ready.tcpPort,
    httpPort: ready.httpPort,
    metricsPort: ready.metricsPort ?? ready.httpPort,
    pid: child.pid!,
    dataDir,
    logFile,
    baseUrl: `http://127.0.0.1:${ready.httpPort}`,
    process: child,
    output: () => output,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const code = await exited;
      cleanup();
      return code;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      cleanup();
    },
  };
}
