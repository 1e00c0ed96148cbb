// Turns whatever stopped the server from starting into the one sentence main.ts prints after
// `parley: `. The errors made for this (a busy port, an unusable data folder, an unreachable
// Redis) already are sentences; a file the system refused (EACCES, EISDIR, ...) gets its path
// and a remedy; anything else keeps its own message, with the stack left to chat.log.
import { ClusterError } from '../cluster/cluster-chat.js';
import { DataDirError } from './data-dir.js';
import { ListenError } from './listen.js';

const FILE_PROBLEMS: Readonly<Record<string, string>> = {
  EACCES: 'permission denied for the user running Parley',
  EPERM: 'permission denied for the user running Parley',
  EISDIR: 'it is a folder where a file was expected',
  ENOTDIR: 'part of the path is a file where a folder was expected',
  ENOSPC: 'the disk is full',
  EROFS: 'the file system is read-only',
  EMFILE: 'too many open files (raise the limit: ulimit -n, LimitNOFILE=)',
};

export function describeStartupFailure(error: unknown, dataDir: string | null): string {
  if (error instanceof DataDirError || error instanceof ListenError || error instanceof ClusterError) return error.message;
  if (isSystemError(error)) {
    // fs calls on an open handle (readFile on a FileHandle) report no path; the data folder is
    // the only place startup opens files, so point there.
    const where = error.path ?? (dataDir === null ? 'a file it needs' : `a file in the data folder ${dataDir}`);
    const problem = FILE_PROBLEMS[error.code] ?? error.message;
    return `cannot use ${where}: ${problem} (${error.code} in ${error.syscall}); fix or move it, or choose another --data-dir`;
  }
  const message = error instanceof Error ? error.message : String(error);
  return `could not start: ${message}`;
}

function isSystemError(error: unknown): error is NodeJS.ErrnoException & { code: string; syscall: string } {
  return (
    error instanceof Error &&
    typeof (error as NodeJS.ErrnoException).code === 'string' &&
    typeof (error as NodeJS.ErrnoException).syscall === 'string'
  );
}
