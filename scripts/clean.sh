#!/usr/bin/env bash
# Rotates or deletes Parley's chat.log, safely under a running server. Made for the hourly cron
# job of the original design:
#
#   0 * * * * /opt/parley/scripts/clean.sh --log /srv/parley/chat.log --data-dir /srv/parley/data
#
# Without --log and --data-dir it looks where `npm start` puts them with the defaults: chat.log
# and data/ in the project folder (this script's folder's parent), not in the current folder,
# because cron starts jobs in the home folder and the bare line `0 * * * * .../clean.sh` would
# otherwise find nothing there and do nothing. A log that is not found is reported on stderr
# with exit code 1, so cron mails it and a systemd timer shows a failed run.
#
# Deleting a file a server still writes to would lose every later line (they go to the unlinked
# inode). So the file is renamed first, then the server is told by SIGHUP (PID from
# DATA_DIR/parley.pid) to reopen its log, and only once it has done so is an old copy deleted.
# A server that cannot be signalled (no PID file, as with --memory; a stale one) still notices
# the replaced file on its first write a second or more after its last check
# (server/ops/logger.ts); until then it writes to the renamed file. With --keep 0 that file is
# therefore deleted only after that second has passed, so nothing written after this script
# returns is lost either way.
set -euo pipefail

readonly program=${0##*/}
project_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
readonly project_dir
# How long to wait for the server to recreate the log after SIGHUP, in tenths of a second.
readonly reopen_wait_tenths=50
# Without a signal: a little over the server's once-a-second check of its log file.
readonly unsignalled_wait=1.1

usage() {
  cat <<EOF
Usage: $program [--log FILE] [--data-dir DIR] [--keep N]

Rotates or deletes Parley's activity log without losing lines a running server writes later.

Options (each also from the environment variable the server reads):
  --log FILE       the server's log file                           [PARLEY_LOG]
                   (default: $project_dir/chat.log)
  --data-dir DIR   the server's data folder, holding parley.pid    [PARLEY_DATA_DIR]
                   (default: $project_dir/data)
  --keep N         keep N old copies, FILE.1 (newest) to FILE.N; 0 deletes (default: 0)
  -h, --help       show this help

The defaults are where 'npm start' puts the log and the data in this project folder, wherever
this script is run from. For a server started with other paths, pass the same --log and
--data-dir, for example in a crontab:
  0 * * * * $project_dir/scripts/$program --log /srv/parley/chat.log --data-dir /srv/parley/data --keep 24

Exit code: 0 rotated (or nothing to do for --log - or off), 1 no log file found, 2 bad option.
EOF
}

fail() {
  printf '%s: %s\n' "$program" "$1" >&2
  printf "Run '%s --help' to see the options.\n" "$program" >&2
  exit 2
}

warn() {
  printf '%s: %s\n' "$program" "$1" >&2
}

log_file=${PARLEY_LOG:-$project_dir/chat.log}
data_dir=${PARLEY_DATA_DIR:-$project_dir/data}
keep=0

# $1 is the flag, $2 how many arguments are left, $3 the value; fails unless a value follows.
need_value() {
  if [[ $2 -lt 2 || -z $3 || $3 == --* ]]; then
    fail "$1 needs a value."
  fi
}

while [[ $# -gt 0 ]]; do
  case $1 in
    --log)
      need_value "$1" "$#" "${2-}"
      log_file=$2
      shift 2
      ;;
    --log=*) log_file=${1#*=}; shift ;;
    --data-dir)
      need_value "$1" "$#" "${2-}"
      data_dir=$2
      shift 2
      ;;
    --data-dir=*) data_dir=${1#*=}; shift ;;
    --keep)
      need_value "$1" "$#" "${2-}"
      keep=$2
      shift 2
      ;;
    --keep=*) keep=${1#*=}; shift ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) fail "unknown option '$1'." ;;
  esac
done

if [[ ! $keep =~ ^[0-9]{1,4}$ ]]; then
  fail "--keep must be a whole number from 0 to 9999, not '$keep'."
fi
keep=$((10#$keep))
if [[ -z $log_file ]]; then
  fail "--log needs a value."
fi
if [[ $log_file == '-' || $log_file == 'off' ]]; then
  # The server writes no file in these modes (stderr, or no log at all): nothing to rotate.
  exit 0
fi
log_dir=$(dirname -- "$log_file")
if [[ ! -d $log_dir ]]; then
  fail "the folder of --log '$log_file' does not exist."
fi

# Whether the process $1 runs Parley's server, by its command line: an argument ending in
# server/main.js (node .../dist/server/main.js, npm start, systemd) or the parley bin, the test
# server/ops/data-dir.ts makes too. The process name alone is not enough: every Node program is
# "node", and SIGHUP's default action is to terminate.
is_parley_server() {
  local arg
  if [[ -e /proc/$1 ]]; then
    while IFS= read -r -d '' arg; do
      [[ $arg =~ (^|/)server/main\.js$ || $arg =~ (^|/)parley$ ]] && return 0
    done 2>/dev/null <"/proc/$1/cmdline"
    return 1
  fi
  # No /proc (macOS, BSD): ps joins the arguments with spaces.
  [[ " $(ps -o args= -p "$1" 2>/dev/null) " =~ [[:space:]/](server/main\.js|parley)[[:space:]] ]]
}

# Prints the PID of the running server, or nothing when there is none. A PID file outlives a
# crash and its number can be reused by an unrelated process: that one is not signalled.
server_pid() {
  local pid_file=$data_dir/parley.pid pid
  [[ -r $pid_file ]] || return 0
  read -r pid <"$pid_file" || true
  [[ ${pid-} =~ ^[1-9][0-9]*$ ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  if ! is_parley_server "$pid"; then
    warn "$pid_file names PID $pid, which is not a Parley server (a stale file whose number was reused?); not signalling it."
    return 0
  fi
  printf '%s\n' "$pid"
}

# Sends SIGHUP and waits (briefly) for the server to recreate the log, so that when this script
# returns every later line lands in the new file. Sets is_reopened=1 when the server did.
is_reopened=0
reopen_log() {
  local pid
  pid=$(server_pid)
  [[ -n $pid ]] || return 0
  if ! kill -HUP "$pid" 2>/dev/null; then
    warn "could not send SIGHUP to PID $pid (not allowed?); the server picks up the new file on its next write instead."
    return 0
  fi
  local tenths=0
  until [[ -e $log_file ]]; do
    if ((tenths >= reopen_wait_tenths)); then
      warn "PID $pid did not reopen '$log_file' within $((reopen_wait_tenths / 10)) s; was it started with --log '$log_file'?"
      return 0
    fi
    sleep 0.1
    tenths=$((tenths + 1))
  done
  is_reopened=1
}

if [[ ! -e $log_file ]]; then
  # The signal brings back a log someone deleted by hand; if no server recreates it, the paths
  # are most likely wrong, and silence would hide that for good.
  reopen_log
  if [[ ! -e $log_file ]]; then
    warn "no log file at '$log_file', so nothing was rotated; pass the --log (and --data-dir) the server was started with."
    exit 1
  fi
  exit 0
fi

# Copies beyond N, left by an earlier run with a larger --keep, go first.
extra=$((keep + 1))
while [[ -e $log_file.$extra ]]; do
  rm -f -- "$log_file.$extra"
  extra=$((extra + 1))
done

if ((keep == 0)); then
  doomed=$log_file.cleaning.$$
  trap 'rm -f -- "$doomed"' EXIT
  mv -f -- "$log_file" "$doomed"
  reopen_log
  if ((!is_reopened)); then
    # A server we could not signal, if any, writes to $doomed until its next check.
    sleep "$unsignalled_wait"
  fi
  rm -f -- "$doomed"
  trap - EXIT
else
  rm -f -- "$log_file.$keep"
  for ((n = keep - 1; n >= 1; n--)); do
    if [[ -e $log_file.$n ]]; then
      mv -f -- "$log_file.$n" "$log_file.$((n + 1))"
    fi
  done
  mv -f -- "$log_file" "$log_file.1"
  reopen_log
fi
