// CPU used by a set of processes over a window, in cores (1.0 = one core busy): a system's
// server processes, or the swarms, to show what the clients themselves cost.
import { readCpuSeconds, readRss } from './proc-stats.js';
import type { RunningSystem } from './systems.js';

export class CpuMeter {
  readonly #pids: number[];
  readonly #startCpu: number;
  readonly #startTime = performance.now();

  constructor(pids: number[]) {
    this.#pids = pids;
    this.#startCpu = this.#read();
  }

  #read(): number {
    return this.#pids.reduce((sum, pid) => sum + readCpuSeconds(pid), 0);
  }

  /** Average cores used since construction. */
  cores(): number {
    const seconds = (performance.now() - this.#startTime) / 1000;
    return (this.#read() - this.#startCpu) / Math.max(seconds, 1e-3);
  }
}

/** Resident memory of all the system's server processes, in MB (2^20 bytes). */
export function systemRssMb(system: RunningSystem): number {
  return system.pids.reduce((sum, pid) => sum + readRss(pid), 0) / 1_048_576;
}
