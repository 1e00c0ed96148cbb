// The data folder: created if missing, checked for write access up front (a clear error at
// start beats a failed fsync at the first message), and claimed with a PID file that
// scripts/clean.sh reads to signal the server, and that stops two servers sharing one journal.
import { accessSync, constants, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class DataDirError extends Error {}

export const PID_FILE = 'parley.pid';

/** Prepares `dir` and writes the PID file; returns a function that removes it. */
export function claimDataDir(dir: string): () => void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK | constants.R_OK);
  } catch (error) {
    throw new DataDirError(
      `the data folder ${dir} cannot be used (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); ` +
        'choose another with --data-dir, fix its permissions, or run with --memory',
    );
  }
  const pidPath = join(dir, PID_FILE);
  const other = readPid(pidPath);
  if (other !== null && other !== process.pid && isAlive(other)) {
    throw new DataDirError(`another Parley server (pid ${other}) is using the data folder ${dir}; stop it or choose another --data-dir`);
  }
  writeFileSync(pidPath, `${process.pid}\n`);
  return () => {
    if (readPid(pidPath) === process.pid) rmSync(pidPath, { force: true });
  };
}

function readPid(path: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
