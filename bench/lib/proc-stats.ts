// What the kernel knows about a process: resident memory, CPU time, open-file limits. Read from
// /proc (Linux), because the bench measures the server from outside, the way an operator would.
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second for /proc/PID/stat times; 100 on every Linux the bench targets. */
const CLOCK_TICKS = 100;
/** Fields of /proc/PID/stat after the ")" that ends the command name (0-based). */
const STAT_UTIME = 11;
const STAT_STIME = 12;

/** Resident set size in bytes, threads included (Parley's workers live in the same process). */
export function readRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** User + system CPU seconds used so far by every thread of the process. */
export function readCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[STAT_UTIME]) + Number(fields[STAT_STIME])) / CLOCK_TICKS;
}

export interface FileLimit {
  soft: number;
  hard: number;
}

/** This process's open-file limit; children inherit it (and may raise soft up to hard). */
export function readFileLimit(pid: number | 'self' = 'self'): FileLimit {
  const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
  const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  const parse = (value: string | undefined) => (value === undefined || value === 'unlimited' ? 1_048_576 : Number(value));
  return { soft: parse(match?.[1]), hard: parse(match?.[2]) };
}

/** Descriptors the process has open now (sockets included). */
export function countOpenFiles(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}
