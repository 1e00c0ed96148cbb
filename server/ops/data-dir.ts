// The data folder: created if missing, checked for write access up front (a clear error at
// start beats a failed fsync at the first message), and claimed with a PID file that
// scripts/clean.sh reads to signal the server, and that stops two servers sharing one journal.
//
// Claiming is atomic: the PID is written to a file of our own, which is then hard-linked to
// parley.pid; link() fails with EEXIST when the name exists, so of two servers starting at
// once exactly one wins, and a reader never sees a half-written PID file. A PID file left by a
// crash names a process that is gone, or (PIDs are reused) some unrelated program: either way it
// is stale, and is taken over. So is a PID this user wrote that now belongs to a process of
// another user, even where /proc hides that process (see whatRuns). To take it over without removing a claim a racing server made a
// moment ago, the file is first renamed aside and read again; if it turns out to be a fresh
// claim, it is put back. (Three servers racing over one stale file can still get past this;
// two cannot.)
import { accessSync, constants, linkSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class DataDirError extends Error {}

export const PID_FILE = 'parley.pid';

/** A stale PID file is taken over at most this often before giving up (only under a race). */
const CLAIM_ATTEMPTS = 5;

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
  const ownPath = `${pidPath}.${process.pid}`;
  writeFileSync(ownPath, `${process.pid}\n`);
  try {
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
      if (tryLink(ownPath, pidPath)) {
        return () => {
          try {
            if (readPid(pidPath) === process.pid) rmSync(pidPath, { force: true });
          } catch {
            // Unreadable now: whoever changed it owns it.
          }
        };
      }
      const other = readPid(pidPath);
      if (other !== null) refuseIfRunning(other, dir, pidPath);
      takeOverStale(pidPath, other);
    }
  } finally {
    rmSync(ownPath, { force: true });
  }
  throw new DataDirError(`could not claim the data folder ${dir}: ${PID_FILE} kept changing (other servers starting?); try again`);
}

/** Throws when `pid` is a running Parley server other than this one. */
function refuseIfRunning(pid: number, dir: string, pidPath: string): void {
  if (pid === process.pid) return; // our own PID from an earlier life: a container's PID 1 restarting
  const found = whatRuns(pid, pidPath);
  if (found === 'parley') {
    throw new DataDirError(`another Parley server (pid ${pid}) is using the data folder ${dir}; stop it or choose another --data-dir`);
  }
  if (found === 'unknown') {
    throw new DataDirError(
      `${pidPath} names pid ${pid}, which is running but cannot be inspected (another user's process?); ` +
        `if it is not a Parley server using ${dir}, delete ${pidPath} and start again`,
    );
  }
}

/** Moves a stale PID file out of the way; restores it if it turned out to be a fresh claim. */
function takeOverStale(pidPath: string, stalePid: number | null): void {
  const aside = `${pidPath}.stale.${process.pid}`;
  try {
    renameSync(pidPath, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // someone else removed it
    throw error;
  }
  const moved = readPid(aside);
  if (moved !== stalePid) tryLink(aside, pidPath); // a racing server's claim: give it back
  rmSync(aside, { force: true });
}

function tryLink(from: string, to: string): boolean {
  try {
    linkSync(from, to);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** The PID in `path`; null when there is no such file or no number in it (a stale leftover).
 *  Other errors (EACCES) are thrown: a PID file we cannot read is not ours to replace. */
function readPid(path: string): number | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const pid = Number.parseInt(text, 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}

/**
 * 'parley' when `pid` runs Parley's server, 'other' when it runs something else or nothing,
 * 'unknown' when it is alive but its command line cannot be read (another user's process under
 * hidepid=, or a system without /proc): then it might be a Parley, and the safe answer is to
 * let the person decide.
 *
 * One case is decided without /proc: a PID file owned by this user was written by a server
 * running as this user, which this process may signal. If kill(pid, 0) says EPERM, the number
 * now belongs to another user's process, so it is not that server: the file is stale. Without
 * this, a reused PID after a power cut kept a service from ever starting again on a host that
 * mounts /proc with hidepid= (Restart= gives up after a few exits with code 1).
 */
function whatRuns(pid: number, pidPath: string): 'parley' | 'other' | 'unknown' {
  const probe = signalProbe(pid);
  if (probe === 'gone') return 'other';
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    // Unreadable while alive: /proc hides it (hidepid=, systemd ProtectProc=) or there is none.
    if (signalProbe(pid) === 'gone') return 'other';
    return probe === 'another-user' && isOwnedByThisUser(pidPath) ? 'other' : 'unknown';
  }
  return cmdline.split('\0').some(isServerArgument) ? 'parley' : 'other';
}

/** The server runs as `node …/server/main.js` (npm start, systemd) or through the `parley` bin. */
function isServerArgument(arg: string): boolean {
  return /(^|\/)server\/main\.js$/.test(arg) || /(^|\/)parley$/.test(arg);
}

/** Whether `pid` runs, and whether this process may signal it (EPERM: another user's). */
function signalProbe(pid: number): 'gone' | 'signallable' | 'another-user' {
  try {
    process.kill(pid, 0);
    return 'signallable';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? 'another-user' : 'gone';
  }
}

function isOwnedByThisUser(path: string): boolean {
  try {
    return statSync(path).uid === process.geteuid?.();
  } catch {
    return false;
  }
}
